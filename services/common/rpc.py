"""RPC both ways, made to survive a broker that goes away.

- `TimedRpcProxy`: nameko's RpcProxy with a deadline on every call. nameko 2.14 waits for an RPC
  reply forever. In an event handler that turns a lost reply into a message held unacked for good;
  with a deadline it becomes an `RpcTimeout`, which the shared delivery retries with backoff like
  any other transient failure.
- `rpc`: nameko's `@rpc`, except that a reply the broker cannot take (it is restarting) is logged
  and dropped (nameko 2.14 lets that error escape the worker, which kills the whole service), and
  that its request queue `rpc-<service>` is a quorum queue (`topology.rpc_queue`).
- `RpcProxy`: nameko's RpcProxy, with a reply queue that a RabbitMQ cluster can lose a node under.
  nameko declares the reply queue durable; a durable classic queue whose node is down can be
  neither declared nor consumed ("home node ... is down") until that node is back, and the one
  queue consumer that holds the reply queue also holds `rpc-<service>`: every process whose reply
  queue lived on the lost node would answer no RPC and get no reply. A transient reply queue goes
  with its node and is declared afresh on the node the consumer reconnects to. Every service uses
  these (a unit test checks), so that `rpc-<service>` and the reply queue share one
  `FailoverQueueConsumer`.
"""

import logging

import eventlet
from amqp.exceptions import AMQPError  # type: ignore[import-untyped]
from kombu.exceptions import OperationalError
from nameko.rpc import ReplyListener, Rpc, RpcConsumer
from nameko.rpc import RpcProxy as NamekoRpcProxy

from .amqp import FailoverQueueConsumer
from .settings import for_container
from .topology import rpc_queue

log = logging.getLogger(__name__)

#: What a publish or an ack raises when the broker is gone or the channel died with it.
BROKER_GONE = (OSError, OperationalError, AMQPError)

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


class TransientReplyListener(ReplyListener):
    """nameko's reply listener, with its reply queue transient (see the module doc)."""

    queue_consumer = FailoverQueueConsumer()

    def setup(self):
        super().setup()
        self.queue.durable = False  # read when the consumer (re)declares it, on every (re)connect


class RpcProxy(NamekoRpcProxy):
    rpc_reply_listener = TransientReplyListener()


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
        """The work is done; only the reply (or the ack) failed. The caller's deadline covers the
        lost reply, and the request, never acked, is delivered again once the broker is back."""
        try:
            return super().handle_result(message, worker_ctx, result, exc_info)
        except BROKER_GONE as exc:
            log.warning(
                "rpc reply lost: the broker is unreachable",
                extra={"method": self.method_name, "error": type(exc).__name__},
            )
            return result, exc_info


rpc = ReplySafeRpc.decorator
