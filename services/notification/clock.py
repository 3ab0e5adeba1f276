"""The clock as a dependency, so tests set the time instead of sleeping through quiet hours."""
from nameko.extensions import DependencyProvider

from services.common.envelope import utc_now


class SystemClock:
    @staticmethod
    def now():
        return utc_now()


class Clock(DependencyProvider):
    def get_dependency(self, worker_ctx):
        return SystemClock
