"""gateway service: entrypoints only (HTTP, and one RPC for notification). Every HTTP path goes
through one pipeline (pipeline.handle) that reads the route table, so authorisation, auditing,
rate limits and metrics apply to all alike."""

from services.common.dependencies import ClockDependency, SettingsDependency
from services.common.rpc import RpcProxy, rpc
from services.common.settings import Settings

from . import pipeline
from .handlers import accounts
from .ports import ConsentTerms, Ports
from .ratelimit import RateLimiter
from .remote import RPC_TIMEOUT_KEY, Remote
from .store import GatewayStore
from .web import http

METHODS = "GET,POST,PUT,DELETE,PATCH"
SECURE_COOKIES_KEY = "FLOKK_COOKIE_SECURE"
TRUSTED_PROXIES_KEY = "FLOKK_TRUSTED_PROXIES"


def secure_cookies(settings: Settings) -> bool:
    """As FLOKK_COOKIE_SECURE says; unset, on everywhere but in test and demo (plain HTTP there)."""
    configured = settings.get_optional(SECURE_COOKIES_KEY)
    return settings.production if configured in (None, "") else settings.as_flag(SECURE_COOKIES_KEY)


def trusted_proxies(settings: Settings) -> tuple[str, ...]:
    text = settings.get_optional(TRUSTED_PROXIES_KEY) or ""
    return tuple(proxy.strip() for proxy in text.split(",") if proxy.strip())


class GatewayService:
    name = "gateway"
    store = GatewayStore()
    limiter = RateLimiter()
    settings = SettingsDependency()
    clock = ClockDependency()
    registration = RpcProxy("registration")
    matching = RpcProxy("matching")
    directory = RpcProxy("directory")
    notification = RpcProxy("notification")

    def _ports(self) -> Ports:
        seconds = self.settings.as_float(RPC_TIMEOUT_KEY)
        return Ports(
            store=self.store,
            registration=Remote("registration", self.registration, seconds),
            matching=Remote("matching", self.matching, seconds),
            directory=Remote("directory", self.directory, seconds),
            notification=Remote("notification", self.notification, seconds),
            clock=self.clock,
            limiter=self.limiter,
            secure_cookies=secure_cookies(self.settings),
            consent=ConsentTerms(self.settings["FLOKK_DATA_CONTROLLER"], self.settings["FLOKK_RETENTION_DAYS"]),
            trusted_proxies=trusted_proxies(self.settings),
        )

    @rpc
    def referrer_contact(self, referrer_id, actor):
        """For notification only, at send time: a referrer's address never travels on the bus."""
        return accounts.referrer_contact(self._ports(), referrer_id, actor)

    @http(METHODS, "/")
    def root(self, request):
        return pipeline.handle(self._ports(), request)

    @http(METHODS, "/<path:path>")
    def everything_else(self, request, path):
        return pipeline.handle(self._ports(), request)
