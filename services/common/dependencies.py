"""Small nameko dependency providers shared by the services."""

from nameko.extensions import DependencyProvider

from .clock import CURRENT, CurrentClock


class ClockDependency(DependencyProvider):
    """Injects the process's clock (`services.common.clock`): tests set the time, never sleep."""

    def get_dependency(self, worker_ctx: object) -> CurrentClock:
        return CURRENT
