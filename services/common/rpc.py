"""RPC both ways, made to survive a broker that goes away, with signed actors (docs/rpc.md).

- `RpcProxy`: nameko's RpcProxy, except that every `actors.Actor` among a call's arguments is sent
  as the token this process signs for `<service>.<method>`.
- `TimedRpcProxy`: the same with a deadline on every call. nameko 2.14 waits for an RPC
  reply forever. In an event handler that turns a lost reply into a message held unacked for good;
  with a deadline it becomes an `RpcTimeout`, which the shared delivery retries with backoff like
  any other transient failure.
- `tool_rpc`: the scripts' and tools' cluster proxy, signing as `ops`.
- `rpc`: nameko's `@rpc`, except that the argument named `actor` of a method that has one is
  verified before anything else runs (refused: `Unauthenticated`, with the reason), that a reply
  the broker cannot take (it is restarting) is logged and dropped (nameko 2.14 lets that error
  escape the worker, which kills the whole service), and that its request queue `rpc-<service>`
  is a quorum queue (`topology.rpc_queue`).
- The proxies' reply queue is one that a RabbitMQ cluster can lose a node under:
  a quorum queue, like every other long-lived queue (`topology`), expiring 5 minutes after its
  process has gone, as nameko's does. nameko declares a durable classic one: when its node is
  down it can be neither declared nor consumed ("home node ... is down") until that node is back,
  and the one queue consumer that holds it also holds `rpc-<service>`, so every process whose reply
  queue lived there answered no RPC and got no reply (the cluster fault run: no receipt for 30 s).
  A classic queue that goes with its node (exclusive, or transient) is declared again at once,
  but a reply sent in between is lost, and each lost reply holds a worker for the RPC deadline
  (the fault run again: notification's five workers, 30 s). A quorum reply queue keeps them: the
  consumer reconnects to another node and finds the same queue with whatever came meanwhile.
  Every service uses these (a unit test checks), so that `rpc-<service>` and the reply queue share
  one `FailoverQueueConsumer`.
"""

import inspect
import logging
from contextlib import contextmanager

import eventlet
from nameko import rpc as nameko_rpc
from nameko.rpc import ReplyListener, Rpc, RpcConsumer
from nameko.rpc import RpcProxy as NamekoRpcProxy

from . import actors
from .amqp import BROKER_GONE, FailoverQueueConsumer, until_taken
from .errors import Unauthenticated
from .metrics import METRICS
from .settings import MODES, for_container, tool_value
from .topology import QUORUM, RPC_EXCHANGE_CHECKED, rpc_queue

log = logging.getLogger(__name__)


def _checked_rpc_exchange(config):
    """nameko's exchange, checked rather than declared: a service's broker user may not configure
    it (the topology declares it before any service starts; docs/operations.md, "Broker users")."""
    return RPC_EXCHANGE_CHECKED


nameko_rpc.get_rpc_exchange = _checked_rpc_exchange  # every nameko RPC queue, proxy and reply


RPC_TIMEOUT_KEY = "FLOKK_RPC_TIMEOUT"


class RpcTimeout(Exception):
    pass


def signer_for(container):
    """The container's `actors.Signer` (its service's name, FLOKK_SIGNING_KEY), made once."""
    cached = getattr(container, "_flokk_signer", None)
    if cached is None:
        settings = for_container(container)
        cached = actors.Signer.from_settings(
            container.service_name, settings.get_optional(actors.SIGNING_KEY), not settings.production
        )
        container._flokk_signer = cached
    return cached


def verifier_for(container):
    """The container's `actors.Verifier` (FLOKK_VERIFY_KEYS), made once."""
    cached = getattr(container, "_flokk_verifier", None)
    if cached is None:
        settings = for_container(container)
        cached = actors.Verifier.from_settings(settings.get_optional(actors.VERIFY_KEYS), not settings.production)
        container._flokk_verifier = cached
    return cached


class _Method:
    """One remote method: signs the call's actors for it, and waits at most `seconds` (if given)."""

    def __init__(self, method, name, signer, seconds=None):
        self._method, self._name, self._signer, self._seconds = method, name, signer, seconds

    def __call__(self, *args, **kwargs):
        args, kwargs = actors.sign_arguments(self._signer, self._name, args, kwargs)
        if self._seconds is None:
            return self._method(*args, **kwargs)
        with eventlet.Timeout(self._seconds, RpcTimeout(f"no reply from {self._name} within {self._seconds:g}s")):
            reply = self._method.call_async(*args, **kwargs)
            try:
                return reply.result()
            except RpcTimeout:
                _forget(self._method.reply_listener, reply.reply_event)
                raise


def _forget(reply_listener, reply_event):
    """nameko keeps the reply event of every call until its reply comes; one that never comes
    would stay in its listener for the life of the process."""
    pending = reply_listener._reply_events
    for correlation_id, event in list(pending.items()):
        if event is reply_event:
            del pending[correlation_id]


class _Service:
    def __init__(self, proxy, service_name, signer, seconds=None):
        self._proxy, self._service_name, self._signer, self._seconds = proxy, service_name, signer, seconds

    def __getattr__(self, method_name):
        method = getattr(self._proxy, method_name)
        return _Method(method, f"{self._service_name}.{method_name}", self._signer, self._seconds)


class QuorumReplyListener(ReplyListener):
    """nameko's reply listener, its reply queue a quorum queue (see the module doc)."""

    queue_consumer = FailoverQueueConsumer()

    def setup(self):
        super().setup()
        self.queue.queue_arguments = {**self.queue.queue_arguments, **QUORUM}  # and x-expires, nameko's


class RpcProxy(NamekoRpcProxy):
    """nameko's RpcProxy on a quorum reply queue, that signs the actors it passes (see `actors`)."""

    rpc_reply_listener = QuorumReplyListener()
    seconds = None

    def setup(self):
        super().setup()
        self.signer = signer_for(self.container)

    def get_dependency(self, worker_ctx):
        return _Service(super().get_dependency(worker_ctx), self.target_service, self.signer, self.seconds)


class TimedRpcProxy(RpcProxy):
    """`RpcProxy` with a deadline on every call (FLOKK_RPC_TIMEOUT)."""

    def setup(self):
        super().setup()
        self.seconds = for_container(self.container).as_float(RPC_TIMEOUT_KEY)


class _SignedCluster:
    def __init__(self, cluster, signer):
        self._cluster, self._signer = cluster, signer

    def __getattr__(self, service_name):
        return _Service(getattr(self._cluster, service_name), service_name, self._signer)


@contextmanager
def tool_rpc(config=None, timeout=30, signer=None):
    """The services as a script or tool sees them, its actors signed as `ops` (FLOKK_SIGNING_KEY):
    `with tool_rpc() as services: services.directory.upsert_contact_point(payload, actors.SELF)`."""
    from nameko.standalone.rpc import ClusterRpcProxy

    from .config import tool_amqp_config

    if signer is None:
        development = tool_value("FLOKK_MODE") in MODES
        signer = actors.Signer.from_settings(actors.OPS, tool_value(actors.SIGNING_KEY), development)
    with ClusterRpcProxy(config or tool_amqp_config(), timeout=timeout) as cluster:
        yield _SignedCluster(cluster, signer)


class QuorumRpcConsumer(RpcConsumer):
    """nameko's RPC consumer on a quorum request queue (nameko declares a classic one)."""

    queue_consumer = FailoverQueueConsumer()

    def setup(self):
        if self.queue is None:
            self.queue = rpc_queue(self.container.service_name)  # on nameko-rpc, checked
            self.queue_consumer.register_provider(self)
            self._registered = True


class ReplySafeRpc(Rpc):
    rpc_consumer = QuorumRpcConsumer()

    def setup(self):
        super().setup()
        self._audience = f"{self.container.service_name}.{self.method_name}"
        self._signature = inspect.signature(getattr(self.container.service_cls, self.method_name))
        self._verifier = verifier_for(self.container) if "actor" in self._signature.parameters else None

    def handle_message(self, body, message):
        """Before anything else, the `actor` is verified; a refusal raised here is answered by the
        consumer as the remote error `Unauthenticated`, and no worker runs."""
        if self._verifier is not None:
            body = self._with_verified_actor(body)
        super().handle_message(body, message)

    def _with_verified_actor(self, body):
        try:
            args, kwargs = list(body["args"]), dict(body["kwargs"])
            bound = self._signature.bind_partial(None, *args, **kwargs)
        except (KeyError, TypeError):
            return body  # nameko answers MalformedRequest or IncorrectSignature
        try:
            actor = self._verifier.verify(bound.arguments.get("actor"), self._audience)
        except Unauthenticated as refused:
            METRICS.count("rpc_refused", self._audience)
            log.warning("actor refused", extra={"method": self._audience, "reason": str(refused)})
            raise
        if "actor" in kwargs:
            kwargs["actor"] = actor
        else:
            args[list(self._signature.parameters).index("actor") - 1] = actor
        return {**body, "args": args, "kwargs": kwargs}

    def handle_result(self, message, worker_ctx, result, exc_info):
        """The work is done; only the reply (or the ack) failed. A reply the broker refuses for a
        moment (its reply queue between leaders) is sent again after a pause (`until_taken`);
        otherwise the caller's deadline covers the lost reply, and the request, never acked, is
        delivered again once the broker is back."""
        reply = super().handle_result
        try:
            return until_taken(lambda: reply(message, worker_ctx, result, exc_info))
        except BROKER_GONE as exc:
            log.warning(
                "rpc reply lost: the broker is unreachable",
                extra={"method": self.method_name, "error": type(exc).__name__},
            )
            return result, exc_info


rpc = ReplySafeRpc.decorator
