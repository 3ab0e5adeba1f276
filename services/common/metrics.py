"""In-process counters, latency histograms and gauges, rendered in the Prometheus text format.

`METRICS` is the one registry of a process: the shared delivery counts events into it, the
observability hooks time handlers and RPCs into it, and the metrics server renders it.
"""

import bisect
import threading
from collections import defaultdict

# Seconds: fine below 50 ms, where a healthy hop lives; coarse up to the retry delays.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HELP = {
    "events_handled": "Events whose handler succeeded, per event type.",
    "events_failed": "Handler runs that raised, per event type (each attempt counts).",
    "events_retried": "Events sent to a delay queue for another attempt, per event type.",
    "events_dead_lettered": "Events moved to the dead-letter queue, per event type.",
    "events_invalid": "Events that broke their contract on receipt, per event type.",
    "handler_seconds": "Event handling time from receipt to ack, per event type.",
    "handler_run_seconds": "Event handler run time alone (no wait for a worker), per event type.",
    "rpc_seconds": "RPC handling time in the service, per method.",
    "http_seconds": "HTTP handling time in the service, per route.",
    "store_transactions": "Store transactions committed, per service.",
    "store_transaction_attempts": "Store transaction attempts (a write conflict makes another), per service.",
    "outbox_backlog": "Events committed to the outbox and not yet published.",
    "process_resident_memory_bytes": "Resident memory of the service process.",
}


class Metrics:
    def __init__(self, prefix="flokk", buckets=LATENCY_BUCKETS):
        self.prefix = prefix
        self.buckets = tuple(buckets)
        self._lock = threading.Lock()
        self._counters = defaultdict(int)
        self._sums = defaultdict(float)
        self._histograms = {}  # (name, label_value) -> counts per bucket (+Inf last)

    def count(self, name, label_value, amount=1):
        with self._lock:
            self._counters[(name, label_value)] += amount

    def observe(self, name, label_value, seconds):
        with self._lock:
            self._counters[(f"{name}_count", label_value)] += 1
            self._sums[(f"{name}_sum", label_value)] += seconds
            counts = self._histograms.setdefault((name, label_value), [0] * (len(self.buckets) + 1))
            counts[bisect.bisect_left(self.buckets, seconds)] += 1

    def value(self, name, label_value):
        return self._counters.get((name, label_value), 0)

    def render(self, label="type", gauges=None, labels=None):
        """The text exposition format. `labels` names the label of each metric (default `label`);
        `gauges` maps a metric name to its current value."""
        labels = labels or {}
        with self._lock:
            counters = sorted(self._counters.items())
            sums = dict(self._sums)
            histograms = {key: list(counts) for key, counts in self._histograms.items()}
        lines, described = [], set()

        def describe(name, kind):
            if name not in described:
                described.add(name)
                if name in HELP:
                    lines.append(f"# HELP {self.prefix}_{name} {HELP[name]}")
                lines.append(f"# TYPE {self.prefix}_{name} {kind}")

        histogram_names = {name for name, _ in histograms}
        for (name, label_value), value in counters:
            base = name[: -len("_count")] if name.endswith("_count") else None
            if base in histogram_names:
                continue
            describe(name, "counter")
            lines.append(f'{self.prefix}_{name}{{{labels.get(name, label)}="{_escape(label_value)}"}} {value}')
        for (name, label_value), counts in sorted(histograms.items()):
            describe(name, "histogram")
            key = f'{labels.get(name, label)}="{_escape(label_value)}"'
            cumulative = 0
            for bound, count in zip(self.buckets + ("+Inf",), counts, strict=True):
                cumulative += count
                lines.append(f'{self.prefix}_{name}_bucket{{{key},le="{bound}"}} {cumulative}')
            lines.append(f"{self.prefix}_{name}_sum{{{key}}} {sums[(f'{name}_sum', label_value)]:.6f}")
            lines.append(f"{self.prefix}_{name}_count{{{key}}} {cumulative}")
        for name, value in sorted((gauges or {}).items()):
            describe(name, "gauge")
            lines.append(f"{self.prefix}_{name} {value}")
        return "\n".join(lines) + "\n"


def _escape(value):
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


METRICS = Metrics()
