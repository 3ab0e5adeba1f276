"""`make faults`: under a steady stream of registrations, break things and prove nothing is lost.

In a private stack (FLOKK_MODE=test slot 8, fresh broker and store), while registrations arrive at a steady
rate, one after another with a pause between:
  1. restart RabbitMQ (SIGTERM, then start again);
  2. SIGKILL each service in turn, then start it again;
  3. restart the store (SIGTERM, then start again; SIGKILL of the development store can lose
     its last acknowledged write, which a journaled MongoDB does not: docs/operations.md);
  4. stop the SMTP server for 5 s, or --smtp-outage SECONDS (`make faults`: 10 minutes); the
     messages that fail meanwhile wait for notification's retry schedule (30 s, 1, 2, 5, 10, 20 min,
     ...), on the same channel, and go out after it is back;
  5. send a poison message to every event queue (half of them undecodable bytes, half JSON that
     breaks the envelope).
With --cluster, the broker is a cluster of three RabbitMQ nodes on loopback (scripts/infra.sh,
FLOKK_RABBIT_NODES=3; AMQP_URI lists the three) and the faults are instead: SIGKILL node 1 (the
one every service is connected to, first in AMQP_URI), leave it down, start it again (it rejoins);
the same for node 2 (where the services moved); then the poison messages. For each node lost the
report says how long the flow of receipts stopped and how many receipts came while it was down (no
receipt while it was down fails the run). The report goes to docs/bench/faults-cluster.json.
Then stop the load, wait for the pipeline to drain, and check:
  - every registration sent has exactly one receipt (one Message-ID) at the SMTP server; a receipt
    delivered twice under the same Message-ID after a crash is counted and shown (docs/design.md §6: the
    deterministic Message-ID lets the receiving side recognise the resend);
  - every poison message sits in its service's dead-letter queue with a reason;
  - no registration was dead-lettered;
  - every message notification made (receipts and staff mail) was sent, by e-mail: each
    registration gives a mobile number too but chooses e-mail, and no SMS may go out;
  - the messages waiting for a retry when the SMTP server came back all went out by e-mail, the
    last within the retry schedule's next step past the outage and a minute (the report also says
    when the last receipt of a registration sent before it was back came).
    python scripts/faults.py [--quick] [--cluster] [--smtp-outage S] [--keep-on-failure]
                             [--kill SERVICE:TIMES] [--pause S] [--rate R]
        --quick: shorter pauses, for CI;
        --smtp-outage 600: the SMTP server down for 10 minutes instead of 5 s;
        --cluster: the three-node cluster and its node losses (above) instead of the fault sequence;
        --keep-on-failure: leave the stack running when a check fails, to inspect it;
        --kill matching:20: SIGKILL that one service 20 times instead (chasing a rare race).
On a failure the run first writes a diagnosis to <run dir>/faults-diagnosis/end/: the broker's
queues (ready, unacked, consumers), every service's greenthread stacks (SIGUSR2) and a py-spy dump
(when py-spy is installed); a fault that takes over 20 s to recover from gets one while it lasts.
Loopback only; every wait has a deadline.
"""

import argparse
import base64
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import traceback
import urllib.request
import uuid
from datetime import UTC
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kombu import Connection, Queue
from pymongo import MongoClient

from bench.stack import ROOT, SERVICES, Intake, Stack, say
from services.common.contracts import SUBSCRIPTIONS
from services.common.topology import DEAD_LETTER_TTL_MS, queue_name
from services.notification.domain import RETRY_OFFSETS
from services.notification.service import DUE_SECONDS

REASON_HEADER = "x-flokk-reason"


class SteadyLoad(threading.Thread):
    def __init__(self, intake, rate):
        super().__init__(daemon=True)
        self.intake, self.rate = intake, rate
        self.sent = []
        self.stopping = threading.Event()
        self.error = None

    def run(self):
        start, index = time.monotonic(), 0
        try:
            while not self.stopping.is_set():
                delay = start + index / self.rate - time.monotonic()
                if delay > 0 and self.stopping.wait(delay):
                    break
                self.intake.send(index)
                self.sent.append(index)
                index += 1
        except Exception as exc:  # reported, and the run fails
            self.error = f"{type(exc).__name__}: {exc}"

    def stop(self):
        self.stopping.set()
        self.join(180)


#: The drain wait gives up after this long without a new receipt: longer than the longest retry
#: delay (30 s) plus an RPC deadline (30 s), so a receipt still on its way is always waited for.
STALL_SECONDS = 90


def wait_for_receipts(stack, wanted, limit=600, stall=STALL_SECONDS, unsent=lambda: 0):
    """Wait until every wanted address has a receipt and `unsent()` (notification's messages still
    to send: staff mail too) is 0, as long as either keeps changing."""
    progress, last_progress, give_up = None, time.monotonic(), time.monotonic() + limit
    while time.monotonic() < give_up:
        have, left = len(wanted & set(stack.receipts())), unsent()
        if have == len(wanted) and not left:
            return True
        if (have, left) != progress:
            progress, last_progress = (have, left), time.monotonic()
        elif time.monotonic() - last_progress > stall:
            return False
        time.sleep(1)
    return False


#: What a receipt may take beyond its retry's time after an SMTP outage (the backlog, a slow machine).
LATE_MAIL_SLACK_SECONDS = 60


def wait_after_recovery(outage_seconds):
    """How long after the SMTP server is back a message that failed at the start of an outage of
    `outage_seconds` waits for its next retry (notification's schedule skips the times missed), plus
    the retry timer's interval."""
    return (
        min(o.total_seconds() for o in RETRY_OFFSETS if o.total_seconds() > outage_seconds)
        - outage_seconds
        + DUE_SECONDS
    )


#: How long `scripts/services.sh start` waits for every service's health after a restart.
READY_SECONDS = 150

#: A fault whose recovery (the restart and every service healthy again) takes longer than this
#: gets a diagnosis while it lasts.
SLOW_RECOVERY_SECONDS = 20


def timed(stack, log, what, action, pause, slow_after=SLOW_RECOVERY_SECONDS):
    """Inflict one fault, give the system `pause` seconds, then restart whatever died of it (as
    Kubernetes restarts a crashed container) and note the deaths. An action that takes over
    `slow_after` seconds gets a diagnosis while it lasts."""
    say(what)
    started = time.monotonic()
    done = threading.Event()
    snapshot = {}

    def watch():  # a recovery this slow is looked at while it lasts, not after
        if not done.wait(slow_after):
            snapshot["at"] = str(diagnose(stack, f"slow-{len(log) + 1}"))
            say(f"   still not recovered after {slow_after:g}s: diagnosis in {snapshot['at']}")

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        action()
    finally:
        done.set()
    took = time.monotonic() - started
    time.sleep(pause)
    watcher.join()
    crashed = stack.restart_dead_services()
    if crashed:
        say(f"   died of it and restarted: {', '.join(crashed)}")
    log.append(
        {
            "fault": what,
            "seconds": round(took, 1),
            "crashed_and_restarted": crashed,
            **({"slow_recovery_diagnosis": snapshot["at"]} if snapshot else {}),
        }
    )


def smtp_outage(stack, seconds, moments):
    """Stop the SMTP server for `seconds`; when it went down and came back, and the messages that
    then waited for a retry, go to `moments`."""
    moments["down_at"] = time.time()
    stack.services.stop("smtp")
    time.sleep(seconds)
    stack.services.start("smtp")
    moments["back_at"] = time.time()
    moments["held"] = waiting_messages(stack)


def mail_after_outage(moments, accepted, sent_at, held_records):
    """How the mail held up by the SMTP outage fared (None without one):
    - held_messages: notification's messages (receipts and staff mail) waiting for a retry when the
      server came back, with how many of them went out by e-mail and when the last did;
    - the receipts of the registrations sent before it was back (a backlog in the pipeline delays
      some of them too): how many arrived after it was back, and when the last did."""
    if "back_at" not in moments:
        return None
    back = moments["back_at"]
    waited = [accepted[i] for i, sent in sent_at.items() if i in accepted and sent <= back]
    after = [t for t in waited if t >= back]
    by_mail = [
        r["at"].replace(tzinfo=UTC).timestamp()
        for r in held_records
        if r["status"] == "sent" and r.get("channel") == "email"
    ]
    return {
        "down_s": round(back - moments["down_at"], 1),
        "held_messages": len(moments["held"]),
        "held_messages_sent_by_email": len(by_mail),
        "last_held_message_sent_after_it_was_back_s": round(max(by_mail) - back, 1) if by_mail else None,
        "receipts_of_registrations_sent_before_it_was_back": len(waited),
        "of_them_arrived_after_it_was_back": len(after),
        "last_arrived_after_it_was_back_s": round(max(after) - back, 1) if after else 0,
    }


@contextlib.contextmanager
def delivery_log(stack):
    """notification's delivery log (`deliveries`, in its own database)."""
    with MongoClient(stack.env["MONGODB_URI"], serverSelectionTimeoutMS=10_000) as client:
        yield client[f"{stack.db_prefix}notification"].deliveries


def notification_deliveries(stack):
    """{"<recipient kind> <channel> <status>": count} of every message notification kept in this run."""
    counts = {}
    with delivery_log(stack) as deliveries:
        for record in deliveries.find({}, {"status": 1, "channel": 1, "recipient.kind": 1}):
            key = f"{(record.get('recipient') or {}).get('kind', '?')} {record.get('channel')} {record['status']}"
            counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def unsent_messages(stack):
    """How many of notification's messages are not sent (nor failed) yet: waiting for a retry or
    being sent."""
    with delivery_log(stack) as deliveries:
        return deliveries.count_documents({"status": {"$nin": ["sent", "failed"]}})


def waiting_messages(stack):
    """The ids of notification's messages waiting for a retry."""
    with delivery_log(stack) as deliveries:
        return [record["_id"] for record in deliveries.find({"status": "retrying"}, {"_id": 1})]


def delivery_records(stack, ids):
    """Status, channel and time (`at`) of these messages now."""
    with delivery_log(stack) as deliveries:
        return list(deliveries.find({"_id": {"$in": list(ids)}}, {"status": 1, "channel": 1, "at": 1}))


def held_mail_failures(smtp, waits):
    """The mail held up by an SMTP outage must all go out by e-mail, within the retry schedule's
    step past the outage (and some slack) after the server is back."""
    if smtp is None:
        return []
    failures = []
    if smtp["held_messages_sent_by_email"] < smtp["held_messages"]:
        failures.append(
            f"{smtp['held_messages'] - smtp['held_messages_sent_by_email']} of the {smtp['held_messages']} "
            "messages held up by the SMTP outage were not sent by e-mail"
        )
    last = smtp["last_held_message_sent_after_it_was_back_s"]
    if last is not None and last > waits + LATE_MAIL_SLACK_SECONDS:
        failures.append(
            f"the last message held up by the SMTP outage went out {last:g} s after the server was back "
            f"(the retry schedule's next step: {waits:g} s)"
        )
    return failures


def delivery_failures(deliveries, sms_sent):
    """Every message must have gone out by e-mail: each registration chose it."""
    failures = []
    not_by_mail = {key: n for key, n in deliveries.items() if not key.endswith(" email sent")}
    if not_by_mail:
        failures.append(f"messages not sent by e-mail: {not_by_mail}")
    if sms_sent:
        failures.append(f"{sms_sent} SMS sent, though every registration chose e-mail")
    return failures


#: The cluster scenario: its nodes, the nodes it kills in turn, and how long each stays down.
CLUSTER_NODES = 3
NODES_KILLED = (1, 2)
NODE_DOWN_SECONDS = 30
NODE_DOWN_SECONDS_QUICK = 15
#: A node started again has booted and rejoined within this (about 15 s on the 2-core machine).
NODE_RESTART_SECONDS = 60


def node_outage(stack, node, seconds, outages):
    """SIGKILL RabbitMQ node `node`, leave it down `seconds`, start it again (it rejoins); the
    moments go to `outages` for `interruption`."""
    killed_at = time.time()
    stack.kill_rabbit_node(node)
    time.sleep(seconds)
    restarted_at = time.time()
    stack.start_infra()  # only what is not running: that node
    outages.append({"node": node, "killed_at": killed_at, "restarted_at": restarted_at, "rejoined_at": time.time()})


def interruption(outage, accepted, sent_at):
    """How the registrations fared around one node's outage, from wall-clock moments: `accepted`
    maps each registration to when its receipt was accepted, `sent_at` to when it was sent.
    - receipts_while_down: receipts accepted between the kill and the restart (processing went on);
    - longest_receipt_gap_s: the longest time without any receipt, among the gaps that overlap the
      outage (kill to rejoined): the interruption of service as a whole;
    - latency_s: from sending to receipt, of the registrations sent from 5 s before the kill until
      the restart (those in flight at the kill included): how long the unluckiest waited."""
    killed, restarted, rejoined = outage["killed_at"], outage["restarted_at"], outage["rejoined_at"]
    times = sorted(accepted.values())
    pairs = zip(times, times[1:], strict=False)
    gaps = [later - earlier for earlier, later in pairs if later >= killed and earlier <= rejoined]
    latencies = [accepted[i] - sent for i, sent in sent_at.items() if i in accepted and killed - 5 <= sent <= restarted]
    return {
        "node": outage["node"],
        "down_s": round(restarted - killed, 1),
        "rejoined_after_s": round(rejoined - killed, 1),
        "receipts_while_down": sum(1 for t in times if killed < t < restarted),
        "longest_receipt_gap_s": round(max(gaps, default=rejoined - killed), 2),
        "latency_s": {
            "registrations": len(latencies),
            "p50": round(statistics.median(latencies), 2) if latencies else None,
            "max": round(max(latencies), 2) if latencies else None,
        },
    }


def outage_failures(outage):
    """Processing must go on while a node is down: some receipts while it is, and no stop of the
    flow as long as half the outage."""
    node, down = outage["node"], outage["down_s"]
    if not outage["receipts_while_down"]:
        return [f"no receipt at all while RabbitMQ node {node} was down"]
    if outage["longest_receipt_gap_s"] >= down / 2:
        return [f"no receipt for {outage['longest_receipt_gap_s']:g} s around the loss of RabbitMQ node {node}"]
    return []


def poison_everything(amqp_uri, run_id):
    """One poison message straight into every event queue; returns {marker: (service, queue)}."""
    sent = {}
    with Connection(amqp_uri) as connection:
        producer = connection.Producer()
        for n, (service, subscriptions) in enumerate(sorted(SUBSCRIPTIONS.items())):
            for m, (source, event_type) in enumerate(subscriptions):
                queue = queue_name(service, source, event_type)
                marker = f"poison-{run_id}-{queue}"
                if (n + m) % 2:
                    body = b"\xff\xfe not json at all " + marker.encode()
                else:
                    body = json.dumps({"event_type": event_type, "poison": marker}).encode()
                producer.publish(
                    body,
                    exchange="",
                    routing_key=queue,
                    content_type="application/json",
                    content_encoding="binary",
                    delivery_mode=2,
                )
                sent[marker] = (service, queue)
    return sent


def dead_letters(amqp_uri):
    """Every message in every `<service>.dead`, looked at and left there: {service: [(headers, body)]}."""
    found = {}
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        for service in SUBSCRIPTIONS:
            queue = Queue(
                f"{service}.dead", durable=True, channel=channel, queue_arguments={"x-message-ttl": DEAD_LETTER_TTL_MS}
            )
            letters = found.setdefault(service, [])
            for _ in range(10_000):
                message = queue.get(no_ack=False)  # never acked: back in the queue when we close
                if message is None:
                    break
                letters.append((message.headers or {}, message.body))
    return found


def log_sizes(stack):
    """How far each service's log has got, so a run reads only its own lines."""
    return {
        name: (stack.run_dir / "logs" / f"{name}.log").stat().st_size
        if (stack.run_dir / "logs" / f"{name}.log").exists()
        else 0
        for name in SERVICES
    }


def retries_logged(stack, since):
    """{"<service>: <event_type>: <error>": count} of the handler failures retried in this run (a
    lost RPC reply shows as RpcTimeout)."""
    counts = {}
    for name, offset in since.items():
        path = stack.run_dir / "logs" / f"{name}.log"
        if not path.exists():
            continue
        with open(path, errors="replace") as handle:
            handle.seek(offset)
            for line in handle:
                if '"handler failed, retrying"' not in line:
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                key = f"{name}: {record.get('event_type')}: {record.get('error')}"
                counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def queue_counts(mgmt_uri):
    """[(name, ready, unacked, consumers)] of every queue, from the management API."""
    scheme, rest = mgmt_uri.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    request = urllib.request.Request(
        f"{scheme}://{host}/api/queues?columns=name,messages_ready,messages_unacknowledged,consumers"
    )
    request.add_header("Authorization", "Basic " + base64.b64encode(credentials.encode()).decode())
    with urllib.request.urlopen(request, timeout=10) as response:
        queues = json.load(response)
    return [
        (q["name"], q.get("messages_ready", 0), q.get("messages_unacknowledged", 0), q.get("consumers", 0))
        for q in sorted(queues, key=lambda q: q["name"])
    ]


def diagnose(stack, name="end"):
    """What there is to look at now: queues with messages in them, and each service's threads
    (py-spy) and greenthreads, written under <run dir>/faults-diagnosis/<name>/. Returns it."""
    where = stack.run_dir / "faults-diagnosis" / name
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True, exist_ok=True)
    try:
        lines = [
            f"{n:60} ready={r} unacked={u} consumers={c}"
            for n, r, u, c in queue_counts(stack.management_uri())
            if r or u
        ]
    except Exception as exc:
        lines = [f"queues unavailable: {type(exc).__name__}: {exc}"]
    (where / "queues.txt").write_text("\n".join(lines) + "\n")
    for line in lines:
        say(f"   {line}")
    spy = shutil.which("py-spy", path=str(ROOT / ".venv" / "bin")) or shutil.which("py-spy")
    for service in SERVICES:
        pid = stack.pid(service)
        if pid is None:
            continue
        if spy is not None:
            dump = subprocess.run([spy, "dump", "--pid", str(pid)], capture_output=True, text=True, timeout=60)
            (where / f"{service}.py-spy.txt").write_text(dump.stdout + dump.stderr)
        (where / f"{service}.greenthreads.txt").write_text(greenthread_stacks(stack, service, pid))
    return where


def catches(pid, signum):
    """Whether process `pid` has a handler for `signum` (SigCgt in /proc/<pid>/status)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = next((line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), "0")
    return bool(int(caught, 16) >> (signum - 1) & 1)


def greenthread_stacks(stack, name, pid):
    """Ask the service for its greenthreads' stacks (SIGUSR2, services/common/stackdump.py) and
    return what it wrote to its log."""
    log_file = stack.run_dir / "logs" / f"{name}.log"
    start = log_file.stat().st_size if log_file.exists() else 0
    if not catches(pid, signal.SIGUSR2):  # by default SIGUSR2 would kill it
        return "the service does not catch SIGUSR2 (no stack dump installed)\n"
    os.kill(pid, signal.SIGUSR2)
    text = ""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "=== end of stack dump ===" not in text:
        time.sleep(0.2)
        with open(log_file, errors="replace") as handle:
            handle.seek(start)
            text = handle.read()
    begin = text.find("=== stack dump")
    return text[begin:] if begin >= 0 else "no dump within 10 s (a blocked hub?)\n"


def report_path(args):
    """Where a run's report goes: the full runs' into docs/bench, the others' into .run."""
    if args.kill:
        return ".run/faults-kill.json"
    name = "faults-cluster" if args.cluster else "faults"
    return f".run/{name}-quick.json" if args.quick else f"docs/bench/{name}.json"


def kill_spec(text):
    name, _, times = text.partition(":")
    if name not in SERVICES or not times.isdigit():
        raise argparse.ArgumentTypeError(f"expected SERVICE:TIMES with SERVICE one of {', '.join(SERVICES)}")
    return name, int(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="short pauses, for CI")
    parser.add_argument(
        "--cluster",
        action="store_true",
        help=f"a {CLUSTER_NODES}-node RabbitMQ cluster: SIGKILL nodes {NODES_KILLED} in turn, instead of the faults",
    )
    parser.add_argument(
        "--keep-on-failure", action="store_true", help="leave the stack running when a check fails, to inspect it"
    )
    parser.add_argument(
        "--kill",
        type=kill_spec,
        metavar="SERVICE:TIMES",
        help="instead of the fault sequence, SIGKILL one service TIMES times (to chase a rare race)",
    )
    parser.add_argument("--pause", type=float, default=None, help="seconds between faults (default 10, quick 3)")
    parser.add_argument(
        "--smtp-outage",
        type=float,
        default=5,
        metavar="SECONDS",
        help="how long the SMTP server stays down (default 5; make faults: 600)",
    )
    parser.add_argument("--slot", type=int, default=8)
    parser.add_argument("--rate", type=float, default=None, help="registrations per second (default 10, quick 5)")
    args = parser.parse_args()
    pause = args.pause or (3 if args.quick else 10)
    rate = args.rate or (5 if args.quick else 10)
    began = time.monotonic()
    stack = Stack(args.slot, "faults", rabbit_nodes=CLUSTER_NODES if args.cluster else 1)
    # A service SIGKILLed in the middle of store transactions leaves them open in the store until
    # their lifetime (60 s) runs out; the restarted service's workers wait on the keys they hold,
    # and its health RPC waits for a free worker. Ready within the lifetime and some, not 60 s.
    stack.env.setdefault("FLOKK_READY_SECONDS", str(READY_SECONDS))
    run_id = uuid.uuid4().hex[:8]
    log = []
    say(f"starting a private stack in test slot {args.slot} ({stack.run_dir})")
    stack.start_infra(fresh=True)
    shutil.rmtree(stack.run_dir / "faults-diagnosis", ignore_errors=True)  # an earlier run's
    logs_at = log_sizes(stack)
    stack.start_services()
    intake = Intake(stack.amqp_uri, run_id, phone=True)
    load = SteadyLoad(intake, rate)
    failures = []
    outages = []
    smtp_down = {}
    keep = False
    try:
        load.start()
        say(f"steady load: {rate:g} registrations/s")
        time.sleep(pause)
        kill = lambda name: (stack.kill_service(name), stack.services.start())
        if args.cluster:
            down = NODE_DOWN_SECONDS_QUICK if args.quick else NODE_DOWN_SECONDS
            for node in NODES_KILLED:
                timed(
                    stack,
                    log,
                    f"SIGKILL RabbitMQ node {node}, {down} s down, start it again",
                    lambda node=node: node_outage(stack, node, down, outages),
                    pause,
                    slow_after=down + NODE_RESTART_SECONDS,
                )
        elif args.kill:
            for _ in range(args.kill[1]):
                timed(stack, log, f"SIGKILL {args.kill[0]}, start it again", lambda: kill(args.kill[0]), pause)
        else:
            timed(
                stack,
                log,
                "restart RabbitMQ",
                lambda: (stack.stop_infra_part("rabbitmq", signal.SIGTERM), stack.start_infra()),
                pause,
            )
            for name in SERVICES:
                timed(stack, log, f"SIGKILL {name}, start it again", lambda name=name: kill(name), pause)
            timed(
                stack,
                log,
                "restart the store",
                lambda: (stack.stop_infra_part("store", signal.SIGTERM), stack.start_infra()),
                pause,
            )
            timed(
                stack,
                log,
                f"the SMTP server down for {args.smtp_outage:g} s (messages wait for their retry)",
                lambda: smtp_outage(stack, args.smtp_outage, smtp_down),
                pause,
                slow_after=args.smtp_outage + SLOW_RECOVERY_SECONDS,
            )
        poisons = {}
        timed(
            stack,
            log,
            "a poison message into every event queue",
            lambda: poisons.update(poison_everything(stack.amqp_uri, run_id)),
            pause,
        )
        load.stop()
        if load.error:
            failures.append(f"the load generator failed: {load.error}")
        sent = list(load.sent)
        say(f"load stopped after {len(sent)} registrations; waiting for every receipt")
        # Count only the registrations' own addresses: staff get mail too (a proposal is ready).
        # After an SMTP outage the drain also waits out the retry schedule's step past it, and allows
        # as long again as the outage lasted for what piled up meanwhile.
        waits = wait_after_recovery(args.smtp_outage) if smtp_down else 0
        drained = wait_for_receipts(
            stack,
            {intake.address(i) for i in sent},
            limit=600 + waits + (args.smtp_outage if smtp_down else 0),
            stall=STALL_SECONDS + waits,
            unsent=lambda: unsent_messages(stack),
        )
        if not drained:
            say(f"no progress for {STALL_SECONDS + waits:g} s, or the wait ran out: giving up the wait")
        time.sleep(3)  # let late duplicates, if any, arrive before counting
        late = stack.restart_dead_services()
        if late:
            failures.append(f"services died while draining: {late}")
        receipts = stack.receipts(with_ids=True)
        missing = [i for i in sent if intake.address(i) not in receipts]
        several = [i for i in sent if len({mid for _, mid in receipts.get(intake.address(i), [])}) > 1]
        resent = [
            i
            for i in sent
            if len(receipts.get(intake.address(i), [])) > len({mid for _, mid in receipts.get(intake.address(i), [])})
        ]
        if missing:
            failures.append(f"{len(missing)} registrations without a receipt (first: {missing[:5]})")
        if several:
            failures.append(f"{len(several)} registrations with more than one distinct receipt")

        letters = dead_letters(stack.amqp_uri)
        by_marker = {}
        for service, messages in letters.items():
            for headers, body in messages:
                raw = body if isinstance(body, bytes) else str(body).encode()
                marker = next((m for m in poisons if m.encode() in raw), None)
                by_marker[marker] = (service, headers)
        for marker, (service, queue) in poisons.items():
            found = by_marker.get(marker)
            if found is None:
                failures.append(f"the poison message for {queue} is not in any dead-letter queue")
            elif found[0] != service or not found[1].get(REASON_HEADER):
                failures.append(
                    f"the poison message for {queue} is in {found[0]}.dead with reason {found[1].get(REASON_HEADER)!r}"
                )
        misrouted, lost_events = 0, []
        for service, messages in letters.items():
            for headers, body in messages:
                raw = body if isinstance(body, bytes) else str(body).encode()
                if any(m.encode() in raw for m in poisons):
                    continue
                if "Does not match the routing" in headers.get(REASON_HEADER, ""):
                    misrouted += 1  # a copy delivered to a queue it was not meant for
                else:
                    lost_events.append(f"{service}: {headers.get(REASON_HEADER, '')[:120]}")
        if misrouted:
            failures.append(
                f"{misrouted} retry copies reached queues they were not meant for and were dead-lettered "
                "there (flokk.retry routes by the header x-flokk-queue, but RabbitMQ's headers "
                "exchange ignores x- arguments, so every copy goes to every queue)"
            )
        if lost_events:
            failures.append(f"{len(lost_events)} events dead-lettered by their own handlers: {lost_events[:3]}")
        accepted = {i: min(t for t, _ in receipts[intake.address(i)]) for i in sent if intake.address(i) in receipts}
        cluster = [interruption(outage, accepted, intake.sent_at) for outage in outages]
        failures += [failure for outage in cluster for failure in outage_failures(outage)]
        deliveries = notification_deliveries(stack)
        sms_sent = len(list(stack.sms_outbox.glob("*.json")))
        failures += delivery_failures(deliveries, sms_sent)
        held = delivery_records(stack, smtp_down["held"]) if smtp_down else []
        smtp = mail_after_outage(smtp_down, accepted, intake.sent_at, held)
        failures += held_mail_failures(smtp, waits)
        failures += [
            f"{', '.join(fault['crashed_and_restarted'])} died of '{fault['fault']}'"
            for fault in log
            if args.cluster and fault["crashed_and_restarted"]
        ]
        summary = {
            "registrations_sent": len(sent),
            "with_exactly_one_receipt": len(sent) - len(missing) - len(several),
            "without_receipt": len(missing),
            "with_several_receipts": len(several),
            "same_receipt_delivered_twice": len(resent),
            "poison_messages": len(poisons),
            "retry_copies_misrouted": misrouted,
            "events_dead_lettered_by_handlers": len(lost_events),
            "poison_in_dead_letter_queue_with_reason": sum(
                1
                for m, (svc, _) in poisons.items()
                if by_marker.get(m, (None, {}))[0] == svc and by_marker[m][1].get(REASON_HEADER)
            ),
            "reasons": sorted({h.get(REASON_HEADER, "")[:60] for m, (_, h) in by_marker.items() if m}),
            "handler_retries": retries_logged(stack, logs_at),
            "notification_deliveries": deliveries,
            "sms_sent": sms_sent,
            **({"smtp_outage": smtp} if smtp else {}),
            "faults": log,
            **({"rabbitmq_node_outages": cluster} if args.cluster else {}),
            "total_seconds": round(time.monotonic() - began, 1),
        }
        print(json.dumps(summary, indent=2))
        if failures:
            say(f"diagnosis in {diagnose(stack)}")
            keep = args.keep_on_failure
        report = ROOT / report_path(args)
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(
            json.dumps(
                {
                    **summary,
                    "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "rate_per_s": rate,
                    "pause_s": pause,
                    "failures": failures,
                },
                indent=2,
            )
            + "\n"
        )
    except Exception as exc:  # a fault the run itself could not get past: look before stopping
        traceback.print_exc()
        failures.append(f"the run broke off: {type(exc).__name__}: {str(exc)[:500]}")
        say(f"diagnosis in {diagnose(stack)}")
        keep = args.keep_on_failure
    finally:
        load.stop()
        intake.close()
        if keep:
            say(
                f"the stack is left running (--keep-on-failure); logs in {stack.run_dir}/logs. Stop it with: "
                f"FLOKK_MODE=test FLOKK_TEST_SLOT={args.slot} bash scripts/services.sh stop; "
                f"FLOKK_MODE=test FLOKK_TEST_SLOT={args.slot} bash scripts/infra.sh stop"
            )
        else:
            say("stopping the stack")
            stack.stop_services()
            stack.stop_infra()
    if failures:
        for failure in failures:
            say(f"FAILED: {failure}")
        return 1
    say(
        f"nothing lost: every registration has one receipt, every poison message is dead-lettered "
        f"with its reason ({time.monotonic() - began:.0f}s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
