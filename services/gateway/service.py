"""gateway service: entrypoints only (HTTP, and one RPC for notification). Every HTTP path goes
through one pipeline (app.handle) that reads the route table, so authorisation, auditing, rate
limits and metrics apply to all alike."""

from nameko.dependency_providers import Config
from nameko.rpc import RpcProxy
from nameko.web.handlers import http

from services.common.rpc import rpc
from services.common.store import MongoStore

from . import accounts, app
from .ratelimit import RateLimiter
from .store import GatewayStorage

METHODS = "GET,POST,PUT,DELETE,PATCH"


class GatewayService:
    name = "gateway"
    store = MongoStore(GatewayStorage)
    limiter = RateLimiter()
    config = Config()
    registration = RpcProxy("registration")
    matching = RpcProxy("matching")
    directory = RpcProxy("directory")
    notification = RpcProxy("notification")

    @rpc
    def referrer_contact(self, referrer_id):
        """For notification only, at send time: a referrer's address never travels on the bus."""
        return accounts.referrer_contact(self.store, referrer_id)

    @http(METHODS, "/")
    def root(self, request):
        return app.handle(self, request)

    @http(METHODS, "/<path:path>")
    def everything_else(self, request, path):
        return app.handle(self, request)
