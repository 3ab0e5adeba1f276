"""What every service shows of itself: Prometheus metrics, probe endpoints, timed workers and
log lines tagged with the worker's call id and event id.

The shared store provider (every service has one) calls `attach` in its setup, `start` and
`stop` with its own; a service needs no code of its own for any of this.

- A small HTTP server on METRICS_HOST:METRICS_PORT (only when METRICS_PORT is set; host
  127.0.0.1 unless told otherwise) answers
    /metrics  the process's METRICS (events handled, failed, retried, dead-lettered, invalid per
              type; handler, RPC and HTTP latency histograms) plus gauges (outbox backlog, RSS);
    /livez    200 while the service's eventlet hub runs (a blocked hub answers nothing);
    /healthz  the service's own health report (`health()` over RPC gives the same), 200 when
              store and broker are reachable, else 503. Kubernetes' readiness probe uses it.
- A worker observer, registered with the container as one more dependency, times every RPC and
  HTTP worker and binds `call_id` (and `event_id` for an event) to the worker's log lines.
"""

import json
import logging
import os
import time
import weakref

import eventlet
from eventlet import wsgi
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc
from nameko.web.handlers import HttpRequestHandler

from . import stackdump
from .delivery import EventSubscriber
from .logs import bind_worker_context, clear_worker_context, install_context_factory
from .metrics import METRICS
from .settings import for_container

log = logging.getLogger(__name__)

METRICS_PORT_KEY = "METRICS_PORT"
METRICS_HOST_KEY = "METRICS_HOST"
METRIC_LABELS = {"rpc_seconds": "method", "http_seconds": "route"}  # the rest are labelled by event type
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_memory_bytes(pid="self"):
    """RSS from /proc (Linux); None where there is no /proc."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except OSError:
        return None


class WorkerObserver(DependencyProvider):
    """Times RPC, HTTP and event workers into METRICS (the delivery also times each event from
    receipt to ack, which adds the wait for a free worker) and tags each worker's log lines with its
    call id and event id."""

    def __init__(self):
        self._started = weakref.WeakKeyDictionary()

    def get_dependency(self, worker_ctx):
        return None

    def worker_setup(self, worker_ctx):
        event = worker_ctx.args[0] if worker_ctx.args else None
        bind_worker_context(
            call_id=worker_ctx.call_id,
            service=worker_ctx.service_name,
            event_id=getattr(event, "event_id", None),
            event_type=getattr(event, "event_type", None),
        )
        self._started[worker_ctx] = time.monotonic()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self._started.pop(worker_ctx, None)
        if started is None:
            return
        entrypoint = worker_ctx.entrypoint
        if isinstance(entrypoint, Rpc):
            METRICS.observe("rpc_seconds", entrypoint.method_name, time.monotonic() - started)
        elif isinstance(entrypoint, EventSubscriber):  # the handler alone; handler_seconds adds the wait
            METRICS.observe("handler_run_seconds", entrypoint.event_type, time.monotonic() - started)
        elif isinstance(entrypoint, HttpRequestHandler):
            METRICS.observe("http_seconds", f"{entrypoint.method} {entrypoint.url}", time.monotonic() - started)

    def worker_teardown(self, worker_ctx):
        clear_worker_context()


class MetricsServer:
    """/metrics, /livez and /healthz for one service container, in a managed greenthread."""

    def __init__(self, container, host, port, health, gauges):
        self.container, self.host, self.port = container, host, port
        self.health, self.gauges = health, gauges
        self._socket = None
        self._thread = None

    def start(self):
        try:
            self._socket = eventlet.listen((self.host, self.port))
        except OSError as exc:  # the probes then fail, which says it loudly enough
            log.error("metrics server cannot listen on %s:%s: %s", self.host, self.port, exc.strerror)
            return
        self._thread = self.container.spawn_managed_thread(self._serve, identifier="metrics-server")

    def stop(self):
        if self._thread is not None:
            self._thread.kill()
            self._thread = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def _serve(self):
        wsgi.server(self._socket, self.app, log_output=False, log=logging.getLogger("flokk.metrics.access"))

    def app(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            status, content_type, body = "200 OK", "text/plain; version=0.0.4", self.render()
        elif path == "/livez":
            status, content_type, body = "200 OK", "text/plain", "ok\n"
        elif path == "/healthz":
            report = self.health()
            status = "200 OK" if report.get("status") == "ok" else "503 Service Unavailable"
            content_type, body = "application/json", json.dumps(report)
        else:
            status, content_type, body = "404 Not Found", "text/plain", "not found\n"
        data = body.encode()
        start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(data)))])
        return [data]

    def render(self):
        values = {}
        for name, read in self.gauges.items():
            try:
                value = read()
            except Exception as exc:  # e.g. the store is down: leave the gauge out, say why
                log.warning("gauge %s unavailable: %s", name, type(exc).__name__)
                continue
            if value is not None:
                values[name] = value
        return METRICS.render(labels=METRIC_LABELS, gauges=values)


class Observability:
    def __init__(self, server):
        self.server = server

    def start(self):
        if self.server is not None:
            self.server.start()

    def stop(self):
        if self.server is not None:
            self.server.stop()


def attach(container, health, gauges=None):
    """Register the worker observer with `container` (once) and prepare the metrics server.
    Called from a dependency provider's setup(), before any worker runs."""
    install_context_factory()
    stackdump.install()  # kill -USR2 <pid>: every greenthread's stack into the log
    if not any(isinstance(dependency, WorkerObserver) for dependency in container.dependencies):
        # an extension's `container` is a weak proxy; bind to the container itself
        container.dependencies.add(WorkerObserver().bind(container.interface, "_flokk_observer"))
    settings = for_container(container)
    port = settings.get_optional(METRICS_PORT_KEY)
    if not port:
        return Observability(None)
    host = settings[METRICS_HOST_KEY]
    gauges = {**(gauges or {}), "process_resident_memory_bytes": resident_memory_bytes}
    return Observability(MetricsServer(container, host, int(port), health, gauges))
