"""`TimedRpcProxy`: nameko's RpcProxy with a deadline on every call.

nameko 2.14 waits for an RPC reply forever. In an event handler that turns a lost reply into a
message held unacked for good; with a deadline it becomes an `RpcTimeout`, which the shared
delivery retries with backoff like any other transient failure.
"""
import eventlet
from nameko.rpc import RpcProxy

RPC_TIMEOUT_KEY = "FLOKK_RPC_TIMEOUT"
DEFAULT_RPC_TIMEOUT = 30.0


class RpcTimeout(Exception):
    pass


class _TimedMethod:
    def __init__(self, method, seconds, name):
        self._method, self._seconds, self._name = method, seconds, name

    def __call__(self, *args, **kwargs):
        with eventlet.Timeout(self._seconds, RpcTimeout(f"no reply from {self._name} within {self._seconds:g}s")):
            return self._method(*args, **kwargs)


class _TimedService:
    def __init__(self, proxy, seconds, service_name):
        self._proxy, self._seconds, self._service_name = proxy, seconds, service_name

    def __getattr__(self, method_name):
        return _TimedMethod(getattr(self._proxy, method_name), self._seconds,
                            f"{self._service_name}.{method_name}")


class TimedRpcProxy(RpcProxy):
    def setup(self):
        super().setup()
        self.seconds = float(self.container.config.get(RPC_TIMEOUT_KEY, DEFAULT_RPC_TIMEOUT))

    def get_dependency(self, worker_ctx):
        return _TimedService(super().get_dependency(worker_ctx), self.seconds, self.target_service)
