"""The bare nameko one-hop event rate, without any of Flokk's machinery: nameko's own standalone
dispatcher publishes N events, a trivial `@event_handler` counts them.

    python -m bench.onehop AMQP_URI [N]

Prints one JSON line: events/s while dispatching and handling together (one process, as a service
that handles and emits would), and events/s draining a full queue; and the process's CPU time per
event while dispatching and handling, which a loaded machine does not change as it changes the rates
(`cpu_rate_per_s`: the events/s that CPU time allows on a core of its own).
"""

import eventlet

eventlet.monkey_patch()

import json
import logging
import sys
import time

from eventlet.event import Event
from nameko.containers import ServiceContainer
from nameko.events import event_handler
from nameko.standalone.events import event_dispatcher

STATE = {"count": 0, "target": 0, "done": None}


class OneHop:
    name = "bench_onehop"

    @event_handler("bench_source", "tick")
    def tick(self, payload):
        STATE["count"] += 1
        if STATE["count"] == STATE["target"]:
            STATE["done"].send(time.perf_counter())


def expect(count):
    STATE.update(count=0, target=count, done=Event())


def main(amqp_uri, count):
    logging.basicConfig(level=logging.ERROR)
    config = {"AMQP_URI": amqp_uri, "max_workers": 10}
    dispatch = event_dispatcher(config)

    container = ServiceContainer(OneHop, config)
    container.start()
    dispatch("bench_source", "tick", {"i": -1})  # warm up connections
    expect(count)
    started, cpu_started = time.perf_counter(), time.process_time()
    for i in range(count):
        dispatch("bench_source", "tick", {"i": i})
    dispatched = time.perf_counter() - started
    with eventlet.Timeout(120):
        finished = STATE["done"].wait()
    cpu = time.process_time() - cpu_started
    together = count / (finished - started)
    container.stop()

    expect(count)  # the durable queue keeps what is dispatched while the service is down
    for i in range(count):
        dispatch("bench_source", "tick", {"i": i})
    container = ServiceContainer(OneHop, config)
    started = time.perf_counter()
    container.start()
    with eventlet.Timeout(120):
        finished = STATE["done"].wait()
    drain = count / (finished - started)
    container.stop()
    print(
        json.dumps(
            {
                "events": count,
                "dispatch_only_per_s": round(count / dispatched),
                "dispatch_and_handle_per_s": round(together),
                "drain_per_s": round(drain),
                "cpu_ms_per_event": round(cpu * 1000 / count, 3),
                "cpu_rate_per_s": round(count / cpu) if cpu else None,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3000)
