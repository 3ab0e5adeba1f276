"""A private Flokk stack for `make bench` and `make faults`: broker, store, SMTP sink and the five
services in a FLOKK_MODE=test slot of their own (ports and run directory from scripts/env.sh), so a
demo or a test run is never touched. Everything is started and stopped through the project's own
scripts; this module adds the intake load, the receipts and the process facts a run needs.
"""

import email.parser
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

from kombu import Connection, Exchange

from tests.processes import ROOT, SERVICES, Services, alive

PYTHON = str(ROOT / ".venv" / "bin" / "python")
INTAKE_EXCHANGE = Exchange("intake.events", type="topic", durable=True)
SAMPLE = {
    "name": "Bench",
    "postal_code": "5003",
    "role": "self",
    "themes": ["grief"],
    "languages": ["nb"],
    "open_to_mixed": True,
    "availability": [{"weekday": "tue", "part_of_day": "evening"}],
    "consent": {
        "purpose": "self_help_group_matching",
        "text_version": "2026-01",
        "given_at": "2026-11-28T08:59:00Z",
        "channel": "self",
    },
}


def _one_postal_code_per_served_municipality():
    """The first postal code of each municipality the example directory serves (the national
    office apart), from the directory's own reference data."""
    from services.directory.example import example_payloads
    from services.directory.reference import reference_data

    served = {m for p in example_payloads() if p["kind"] != "national_office" for m in p["municipalities"]}
    postal_codes = reference_data().postal_codes
    first = {}
    for code in sorted(postal_codes):
        first.setdefault(postal_codes[code].municipality_number, code)
    return tuple(first[m] for m in sorted(served) if m in first)


#: People spread over the served municipalities and both roles (about 30 pools), as arrivals spread
#: over the country; with one postal code and one role every arrival would join the same pool, and
#: one pool is planned by one worker at a time.
POSTAL_CODES = _one_postal_code_per_served_municipality()
ROLES = ("self", "relative")


def say(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def slot_environment(slot, db_prefix, rabbit_nodes=1):
    """The environment scripts/env.sh gives FLOKK_MODE=test in `slot`, with its own databases and
    `rabbit_nodes` RabbitMQ nodes (more than one: a cluster, AMQP_URI listing every node)."""
    base = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "AMQP_URI",
            "MONGODB_URI",
            "AMQP_URI_EXTERNAL",
            "MONGODB_URI_EXTERNAL",
            "FLOKK_RUN_DIR",
            "FLOKK_SMTP_SINK_PORT",
            "SMTP_PORT",
            "SMTP_HOST",
            "GATEWAY_PORT",
            "FLOKK_METRICS_BASE",
            "SMS_PORT",
            "RABBIT_MGMT_URI",
            "FLOKK_RABBIT_PORT_STEP",
        )
    }
    base.update(FLOKK_MODE="test", FLOKK_TEST_SLOT=str(slot), FLOKK_RABBIT_NODES=str(rabbit_nodes))
    dump = subprocess.run(
        ["bash", "-c", ". scripts/env.sh && env -0"], cwd=ROOT, env=base, check=True, capture_output=True
    ).stdout
    env = dict(item.split("=", 1) for item in dump.decode().split("\0") if "=" in item)
    env["FLOKK_DB_PREFIX"] = db_prefix
    return env


class Stack:
    def __init__(self, slot, name, rabbit_nodes=1):
        self.db_prefix = f"{name}{time.strftime('%H%M%S')}_"
        self.rabbit_nodes = rabbit_nodes
        self.env = slot_environment(slot, self.db_prefix, rabbit_nodes)
        self.run_dir = Path(self.env["FLOKK_RUN_DIR"])
        self.maildir = self.run_dir / "mail"
        self.sms_outbox = self.run_dir / "sms"  # scripts/services.sh's SMS provider keeps each there
        self.amqp_uri = self.env["AMQP_URI"]
        self.services = Services(self.env)

    # --- lifecycle, through the project's scripts (the services: scripts/services.sh) ---------

    def script(self, *args, timeout=180):
        result = subprocess.run(
            ["bash", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
        return result.stdout

    def start_infra(self, fresh=False):
        """Start the broker and the store (only what is not running). `fresh` first wipes their
        state in this private slot, so nothing an earlier run left in a queue or a database
        (durable messages, dead letters, a large store) can touch this run."""
        if fresh:
            if any(alive(pid) for pid in (*self.rabbit_pids(), self.infra_pid("store")) if pid):
                self.stop_infra()
            shutil.rmtree(self.run_dir / "rabbitmq" / "mnesia", ignore_errors=True)
            for node_dir in self.run_dir.glob("rabbitmq-[0-9]*"):  # the other nodes of a cluster
                shutil.rmtree(node_dir, ignore_errors=True)
            shutil.rmtree(self.run_dir / "store" / "data", ignore_errors=True)
        self.script("scripts/infra.sh", "start")

    def start_services(self, seed=True):
        shutil.rmtree(self.maildir, ignore_errors=True)
        shutil.rmtree(self.sms_outbox, ignore_errors=True)
        self.services.start()
        if seed:
            subprocess.run(
                [PYTHON, "scripts/seed_directory.py"],
                cwd=ROOT,
                env=self.env,
                check=True,
                capture_output=True,
                timeout=120,
            )

    def start_replicas(self, replicas):
        """More processes of running services ({service: count}): `matching-2` and so on."""
        self.services.start(*replicas, replicas=replicas)

    def stop_services(self):
        self.services.stop()

    def stop_infra(self):
        self.script("scripts/infra.sh", "stop", timeout=120)

    # --- processes ---------------------------------------------------------------------------

    def pid(self, name):
        return self.services.pid(name)

    def service_processes(self):
        """The name of every service process running now, replicas (`matching-2`) included."""
        names = sorted(path.stem for path in (self.run_dir / "pids").glob("*.pid"))
        return [name for name in names if name.split("-")[0] in SERVICES and alive(self.pid(name))]

    def rss_mb(self, name):
        pid = self.pid(name)
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except (OSError, TypeError):
            return None
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return None

    def cpu_seconds(self):
        """CPU time (user + system) used so far by each process of the stack: the five services
        (and their replicas), the SMTP sink, the broker and the store."""
        pids = {name: self.pid(name) for name in (*self.service_processes(), "smtp")}
        pids.update(rabbitmq=self.infra_pid("rabbitmq"), store=self.infra_pid("store"))
        ticks = os.sysconf("SC_CLK_TCK")
        used = {}
        for name, pid in pids.items():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, TypeError):
                continue
            used[name] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        return used

    def dead_services(self):
        return [name for name in SERVICES if not alive(self.pid(name))]

    def restart_dead_services(self):
        """Start again whatever died, as Kubernetes would restart a crashed container, and wait
        until every service is healthy; returns the names of the services that had died."""
        dead = self.dead_services()
        if dead:
            self.services.start()  # starts only what is not running
        return dead

    def kill_service(self, name):
        """SIGKILL one service (its whole process group); gone when this returns."""
        self.services.kill(name)

    def infra_pid(self, what):
        path = self.run_dir / ("rabbitmq/rabbitmq.pid" if what == "rabbitmq" else "store/store.pid")
        return int(path.read_text()) if path.exists() else None

    # --- the RabbitMQ nodes (node 1 is the only one, unless rabbit_nodes says a cluster) -----

    def rabbit_node_dir(self, node):
        return self.run_dir / ("rabbitmq" if node == 1 else f"rabbitmq-{node}")

    def rabbit_pid(self, node):
        path = self.rabbit_node_dir(node) / "rabbitmq.pid"
        try:
            return int(path.read_text())
        except (OSError, ValueError):
            return None

    def rabbit_pids(self):
        """The PID of every node that has a directory here, running or not (None without a PID file)."""
        nodes = [1] + sorted(int(d.name.rsplit("-", 1)[1]) for d in self.run_dir.glob("rabbitmq-[0-9]*"))
        return [self.rabbit_pid(node) for node in nodes]

    def rabbit_port(self, port, node):
        """Node `node`'s port of the kind whose first node's port is `port` (scripts/env.sh)."""
        return port + int(self.env["FLOKK_RABBIT_PORT_STEP"]) * (node - 1)

    def kill_rabbit_node(self, node):
        """SIGKILL one RabbitMQ node, as a crash would; gone when this returns. `start_infra`
        starts it again, and it rejoins its cluster."""
        pid = self.rabbit_pid(node)
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not alive(pid), 30, f"rabbitmq node {node} to die")

    def management_uri(self):
        """The management API of the first RabbitMQ node that runs (each shows the whole cluster)."""
        port = int(self.env["FLOKK_MGMT_PORT"])
        for node in range(1, self.rabbit_nodes + 1):
            if alive(self.rabbit_pid(node)):
                return f"http://guest:guest@127.0.0.1:{self.rabbit_port(port, node)}"
        return self.env["RABBIT_MGMT_URI"]

    def stop_infra_part(self, what, sig=signal.SIGTERM, timeout=60):
        """Stop the broker or the store alone (scripts/infra.sh stops both); `start_infra` brings
        back only what is missing."""
        pid = self.infra_pid(what)
        os.kill(pid, sig)
        wait_for(lambda: not alive(pid), timeout, f"{what} to stop")
        if what == "rabbitmq":
            (self.run_dir / "rabbitmq/rabbitmq.pid").unlink(missing_ok=True)
        else:
            (self.run_dir / "store/store.pid").unlink(missing_ok=True)

    # --- receipts ----------------------------------------------------------------------------

    def mail_count(self):
        try:
            return sum(1 for name in os.listdir(self.maildir) if name.endswith(".eml"))
        except FileNotFoundError:
            return 0

    def receipts(self, with_ids=False):
        """{recipient address: [acceptance time of each receipt]} (or [(time, Message-ID)]): the SMTP
        sink writes each message as it accepts it, so the file's mtime is the moment of acceptance."""
        parser = email.parser.BytesHeaderParser()
        found = {}
        for path in self.maildir.glob("*.eml"):
            with open(path, "rb") as handle:
                headers = parser.parse(handle)
            accepted = path.stat().st_mtime
            found.setdefault(str(headers["To"]), []).append(
                (accepted, str(headers["Message-ID"])) if with_ids else accepted
            )
        return found


def wait_for(predicate, timeout, what, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


class Intake:
    """Publishes registration_requested like another system: persistent, confirmed by the broker,
    and retried until confirmed (a broker restart must not lose what we say we sent; a resend is
    the same registration, by its idempotency key)."""

    def __init__(self, amqp_uri, run_id, phone=False):
        self.amqp_uri = amqp_uri
        self.run_id = run_id
        self.phone = phone  # each also gives a mobile number, and chooses e-mail
        self.sent_at = {}  # index -> time of the first publish attempt
        self.lock = threading.Lock()
        self.connection = None

    def address(self, index):
        return f"bench+{self.run_id}-{index}@example.no"

    def envelope(self, index):
        data = {
            **SAMPLE,
            "idempotency_key": f"bench-{self.run_id}-{index}",
            "email": self.address(index),
            "postal_code": POSTAL_CODES[index % len(POSTAL_CODES)],
            "role": ROLES[index // len(POSTAL_CODES) % len(ROLES)],
            **({"phone": f"+479{index % 10**7:07d}", "preferred_channel": "email"} if self.phone else {}),
        }
        return {
            "event_id": str(uuid.uuid4()),
            "event_type": "registration_requested",
            "schema_version": 1,
            "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "source": "intake",
            "data": data,
        }

    def _producer(self):
        if self.connection is None:
            self.connection = Connection(self.amqp_uri, transport_options={"confirm_publish": True}, connect_timeout=5)
            self.connection.ensure_connection(max_retries=1)
        return self.connection.Producer()

    def send(self, index, deadline_seconds=120):
        body = json.dumps(self.envelope(index))
        with self.lock:
            self.sent_at.setdefault(index, time.time())
            give_up = time.monotonic() + deadline_seconds
            while True:
                try:
                    self._producer().publish(
                        body,
                        exchange=INTAKE_EXCHANGE,
                        routing_key="registration_requested",
                        content_type="application/json",
                        content_encoding="utf-8",
                        delivery_mode=2,
                        declare=[INTAKE_EXCHANGE],
                    )
                    return
                except Exception:
                    self.close()
                    if time.monotonic() > give_up:
                        raise
                    time.sleep(0.5)

    def close(self):
        if self.connection is not None:
            try:
                self.connection.release()
            except Exception:
                pass
            self.connection = None


class RssSampler(threading.Thread):
    """Samples every service's RSS once a second; keeps the peak of each."""

    def __init__(self, stack, interval=1.0):
        super().__init__(daemon=True)
        self.stack, self.interval = stack, interval
        self.peak = {}
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.wait(self.interval):
            for name in self.stack.service_processes():
                value = self.stack.rss_mb(name)
                if value is not None:
                    self.peak[name] = max(self.peak.get(name, 0), value)

    def stop(self):
        self._stop_event.set()
        self.join(5)
