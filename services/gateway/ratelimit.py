"""A sliding-window rate limit per client, for the public endpoints (registration, postal code
look-up, login). In memory, per gateway process: a replica behind a load balancer counts alone."""

import threading
import time
from collections import defaultdict, deque

from nameko.extensions import DependencyProvider

from services.common.settings import for_container

RATE_LIMIT_KEY = "FLOKK_RATE_LIMIT"  # "<requests>/<seconds>"


def parse_limit(text):
    requests, seconds = str(text).split("/")
    return int(requests), float(seconds)


class Limiter:
    def __init__(self, requests, seconds, clock=time.monotonic):
        self.requests, self.seconds, self.clock = requests, seconds, clock
        self._hits = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, key):
        """True when `key` may make one more request now; else the seconds until it may."""
        now = self.clock()
        with self._lock:
            hits = self._hits[key]
            while hits and hits[0] <= now - self.seconds:
                hits.popleft()
            if len(hits) >= self.requests:
                return max(1, int(hits[0] + self.seconds - now + 0.999))
            hits.append(now)
            if len(self._hits) > 100_000:  # forget idle clients so memory stays bounded
                for idle in [k for k, v in self._hits.items() if not v]:
                    del self._hits[idle]
            return True


class RateLimiter(DependencyProvider):
    """One Limiter per container, shared by all workers."""

    def setup(self):
        self.limiter = Limiter(*parse_limit(for_container(self.container)[RATE_LIMIT_KEY]))

    def get_dependency(self, worker_ctx):
        return self.limiter
