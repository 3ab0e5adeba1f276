"""Small nameko dependency providers shared by the services."""

from nameko.extensions import DependencyProvider

from .clock import CURRENT, CurrentClock
from .settings import Settings, for_container


class ClockDependency(DependencyProvider):
    """Injects the process's clock (`services.common.clock`): tests set the time, never sleep."""

    def get_dependency(self, worker_ctx: object) -> CurrentClock:
        return CURRENT


class SettingsDependency(DependencyProvider):
    """Injects the service's settings (services/<svc>/settings.py), read once at start."""

    def setup(self) -> None:
        self.settings = for_container(self.container)

    def get_dependency(self, worker_ctx: object) -> Settings:
        return self.settings
