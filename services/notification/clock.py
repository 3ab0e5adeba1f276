"""The clock as a dependency, so tests set the time instead of sleeping through quiet hours."""

from nameko.extensions import DependencyProvider

from services.common import clock


class SystemClock:
    @staticmethod
    def now():
        return clock.now()


class Clock(DependencyProvider):
    def get_dependency(self, worker_ctx):
        return SystemClock
