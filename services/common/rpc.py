"""RPC both ways, made to survive a broker that goes away.

- `TimedRpcProxy`: nameko's RpcProxy with a deadline on every call. nameko 2.14 waits for an RPC
  reply forever. In an event handler that turns a lost reply into a message held unacked for good;
  with a deadline it becomes an `RpcTimeout`, which the shared delivery retries with backoff like
  any other transient failure.
- `rpc`: nameko's `@rpc`, except that a reply the broker cannot take (it is restarting) is logged
  and dropped (nameko 2.14 lets that error escape the worker, which kills the whole service), and
  that its request queue `rpc-<service>` is a quorum queue (`topology.rpc_queue`).
- `RpcProxy`: nameko's RpcProxy, with a reply queue that a RabbitMQ cluster can lose a node under:
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

import logging

import eventlet
from nameko.rpc import ReplyListener, Rpc, RpcConsumer
from nameko.rpc import RpcProxy as NamekoRpcProxy

from .amqp import BROKER_GONE, FailoverQueueConsumer, until_taken
from .settings import for_container
from .topology import QUORUM, rpc_queue

log = logging.getLogger(__name__)


RPC_TIMEOUT_KEY = "FLOKK_RPC_TIMEOUT"


class RpcTimeout(Exception):
    pass


class _TimedMethod:
    def __init__(self, method, seconds, name):
        self._method, self._seconds, self._name = method, seconds, name

    def __call__(self, *args, **kwargs):
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


class _TimedService:
    def __init__(self, proxy, seconds, service_name):
        self._proxy, self._seconds, self._service_name = proxy, seconds, service_name

    def __getattr__(self, method_name):
        return _TimedMethod(getattr(self._proxy, method_name), self._seconds, f"{self._service_name}.{method_name}")


class QuorumReplyListener(ReplyListener):
    """nameko's reply listener, its reply queue a quorum queue (see the module doc)."""

    queue_consumer = FailoverQueueConsumer()

    def setup(self):
        super().setup()
        self.queue.queue_arguments = {**self.queue.queue_arguments, **QUORUM}  # and x-expires, nameko's


class RpcProxy(NamekoRpcProxy):
    rpc_reply_listener = QuorumReplyListener()


class TimedRpcProxy(RpcProxy):
    def setup(self):
        super().setup()
        self.seconds = for_container(self.container).as_float(RPC_TIMEOUT_KEY)

    def get_dependency(self, worker_ctx):
        return _TimedService(super().get_dependency(worker_ctx), self.seconds, self.target_service)


class QuorumRpcConsumer(RpcConsumer):
    """nameko's RPC consumer on a quorum request queue (nameko declares a classic one)."""

    queue_consumer = FailoverQueueConsumer()

    def setup(self):
        if self.queue is None:
            self.queue = rpc_queue(self.container.service_name)  # on the default exchange, nameko-rpc
            self.queue_consumer.register_provider(self)
            self._registered = True


class ReplySafeRpc(Rpc):
    rpc_consumer = QuorumRpcConsumer()

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
