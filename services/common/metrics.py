"""In-process counters and latency sums, rendered in the Prometheus text format."""
import threading
from collections import defaultdict


class Metrics:
    def __init__(self, prefix="flokk"):
        self.prefix = prefix
        self._lock = threading.Lock()
        self._counters = defaultdict(int)
        self._sums = defaultdict(float)

    def count(self, name, label_value, amount=1):
        with self._lock:
            self._counters[(name, label_value)] += amount

    def observe(self, name, label_value, seconds):
        with self._lock:
            self._counters[(f"{name}_count", label_value)] += 1
            self._sums[(f"{name}_sum", label_value)] += seconds

    def value(self, name, label_value):
        return self._counters.get((name, label_value), 0)

    def render(self, label="type", gauges=None):
        lines = []
        with self._lock:
            items = sorted(self._counters.items()) + sorted(self._sums.items())
        for (name, label_value), value in items:
            lines.append(f'{self.prefix}_{name}{{{label}="{label_value}"}} {value}')
        for name, value in sorted((gauges or {}).items()):
            lines.append(f"{self.prefix}_{name} {value}")
        return "\n".join(lines) + "\n"


METRICS = Metrics()
