"""`make bench`: start a private stack and measure, in one run (docs/operations.md shows the figures
and what they are held to, bench/figures.py the arithmetic):

0. the load average at the start: a bench waits up to BENCH_LOAD_WAIT_SECONDS for it to fall below
   1.0, then refuses to run (BENCH_ALLOW_LOAD=1 runs anyway, with a warning in the report);
1. the bare nameko one-hop event rate (bench/onehop.py, no Flokk machinery), the unit of cost;
2. p50/p99 latency from intake event to receipt accepted by the SMTP server at 10/s (the pipeline's
   own latency);
3. registrations/s from intake to accepted receipt, sustained at saturation (a bounded number in
   flight), with what a registration costs: CPU of every process (from /proc) and store operations
   (the store's opcounters, a commit counted as one), over the phase (per registration received)
   and until its last receipt (every registration counted whole), background timers included;
   whether the development store saturated (>= 90% of one core), and then the figures without
   it and a projection for a 3-member MongoDB replica set;
4. p50/p99 latency at 50/s, or at half the sustained rate when that is below 100/s;
5. the scale-out run: the same sustained phase with two replicas each of matching and notification,
   its rate against the single-replica one, and nobody placed or notified twice;
6. memory of every service at rest and under load; every registration checked for exactly one
   receipt; the matching engine at 100,000 people.

Writes docs/bench/report.json and docs/bench/bench.png. Runs in FLOKK_MODE=test slot 7
(BENCH_SLOT) so it never touches a demo; loopback only; every loop has a deadline.
    BENCH_LATENCY_SECONDS (30), BENCH_SUSTAIN_SECONDS (60), BENCH_SCALE_SECONDS (as sustained),
    BENCH_IN_FLIGHT (300), BENCH_LOAD_WAIT_SECONDS (300), BENCH_ALLOW_LOAD (0),
    BENCH_SKIP_ENGINE (0: the matching engine section runs)
"""

import email.parser
import importlib.util
import json
import os
import platform
import re
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import figures
from bench.stack import PYTHON, ROOT, SERVICES, Intake, RssSampler, Stack, say, wait_for

SLOT = int(os.environ.get("BENCH_SLOT", "7"))
LIGHT_RATE = 10
LATENCY_SECONDS = float(os.environ.get("BENCH_LATENCY_SECONDS", "30"))
SUSTAIN_SECONDS = float(os.environ.get("BENCH_SUSTAIN_SECONDS", "60"))
SCALE_SECONDS = float(os.environ.get("BENCH_SCALE_SECONDS", str(SUSTAIN_SECONDS)))
IN_FLIGHT = int(os.environ.get("BENCH_IN_FLIGHT", "300"))
LOAD_WAIT_SECONDS = float(os.environ.get("BENCH_LOAD_WAIT_SECONDS", "300"))
ALLOW_LOAD = os.environ.get("BENCH_ALLOW_LOAD", "") not in ("", "0")
SKIP_ENGINE = os.environ.get("BENCH_SKIP_ENGINE", "") not in ("", "0")
SCALED = {"matching": 2, "notification": 2}
MAX_OFFERED_RATE = 1000
DRAIN_SECONDS = 180
#: After the last receipt: one outbox sweep (FLOKK_OUTBOX_SWEEP_SECONDS, 2 s) deletes what was published.
SETTLE_SECONDS = 3
OUT = ROOT / "docs" / "bench"
CHART_VENV = ROOT / ".tools" / "bench-venv"
CHART_PIN = "matplotlib==3.11.2"


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else None


def machine():
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def quiet_machine():
    """Wait (up to LOAD_WAIT_SECONDS) for the 1-minute load average to fall below the limit; the
    load at the start, and a warning when the bench runs above it (only with BENCH_ALLOW_LOAD)."""
    deadline = time.monotonic() + LOAD_WAIT_SECONDS
    load = os.getloadavg()
    if not figures.load_is_quiet(load[0]) and not ALLOW_LOAD:
        say(
            f"load average {load[0]:.2f}: waiting up to {LOAD_WAIT_SECONDS:.0f}s "
            f"for it to fall below {figures.LOAD_LIMIT}"
        )
        while not figures.load_is_quiet(load[0]) and time.monotonic() < deadline:
            time.sleep(5)
            load = os.getloadavg()
    start = {"load_average_at_start": [round(x, 2) for x in load]}
    if figures.load_is_quiet(load[0]):
        return start
    warning = (
        f"load average {load[0]:.2f} at the start, above {figures.LOAD_LIMIT}: other work shares the "
        "cores, so the rates and latencies are low; CPU and store operations per registration still hold"
    )
    if not ALLOW_LOAD:
        say(f"refusing to run: {warning} (BENCH_ALLOW_LOAD=1 runs anyway, with this warning in the report)")
        sys.exit(2)
    say(f"WARNING: {warning}")
    return {**start, "load_warning": warning}


def one_hop(stack):
    say("1/6 bare nameko one-hop event rate")
    result = subprocess.run(
        [PYTHON, "-m", "bench.onehop", stack.amqp_uri, "3000"],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def send_paced(intake, first, rate, seconds):
    """Open loop: registration i goes out at start + i/rate, whatever the pipeline does."""
    count = int(rate * seconds)
    start = time.monotonic()
    for i in range(count):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        intake.send(first + i)
    return list(range(first, first + count))


def latency_summary(samples, sent, rate):
    return {
        "rate_per_s": rate,
        "registrations": sent,
        "receipts": len(samples),
        "p50_ms": round(percentile(samples, 0.5), 1),
        "p90_ms": round(percentile(samples, 0.9), 1),
        "p99_ms": round(percentile(samples, 0.99), 1),
        "max_ms": round(max(samples), 1),
        "samples_ms": [round(x, 1) for x in samples],
    }


def wait_receipts(stack, intake, indexes, timeout=DRAIN_SECONDS):
    """Until every one of these registrations has its receipt. (Counting all mail would stop early:
    staff hear of every proposed group too.) Each message file is read once."""
    wanted = {intake.address(i) for i in indexes}
    parser, seen = email.parser.BytesHeaderParser(), {}

    def all_received():
        for path in stack.maildir.glob("*.eml"):
            if path.name not in seen:
                with open(path, "rb") as handle:
                    seen[path.name] = str(parser.parse(handle)["To"])
        return wanted <= set(seen.values())

    wait_for(all_received, timeout, f"{len(wanted)} receipts", interval=0.5)


def latency(stack, intake, first, rate, seconds):
    sent = send_paced(intake, first, rate, seconds)
    wait_receipts(stack, intake, sent)
    receipts = stack.receipts()
    samples = [
        (min(receipts[intake.address(i)]) - intake.sent_at[i]) * 1000 for i in sent if intake.address(i) in receipts
    ]
    summary = latency_summary(samples, len(sent), rate)
    say(f"   at {rate}/s: p50 {summary['p50_ms']} ms, p99 {summary['p99_ms']} ms")
    return sent, summary


def metrics_ports(stack):
    """The metrics port of every service process (services.sh: FLOKK_METRICS_BASE + place in
    SERVICES for the first, 5 more for each further replica)."""
    base = int(stack.env["FLOKK_METRICS_BASE"])
    ports = {}
    for name in stack.service_processes():
        service, _, copy = name.partition("-")
        ports[name] = base + 5 * (int(copy or 1) - 1) + SERVICES.index(service) + 1
    return ports


def service_metrics(stack):
    """Each process's /metrics text (those that answer)."""
    texts = {}
    for name, port in metrics_ports(stack).items():
        try:
            texts[name] = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        except OSError:
            continue
    return texts


def counters(texts, metric):
    """{label value: total over all processes} of one counter, e.g. store_transactions by service."""
    totals = {}
    for text in texts.values():
        for label, value in re.findall(rf'^flokk_{metric}\{{\w+="([^"]+)"\}} (\S+)', text, re.M):
            totals[label] = totals.get(label, 0) + float(value)
    return totals


def per_hop(texts):
    """Mean handler and RPC time per hop, from each process's /metrics."""
    hops = {}
    for name, text in texts.items():
        sums, counts = {}, {}
        for kind, label, value in re.findall(
            r'^flokk_((?:handler|handler_run|rpc)_seconds_(?:sum|count))\{\w+="([^"]+)"\} (\S+)', text, re.M
        ):
            target = sums if kind.endswith("sum") else counts
            target[(kind.rsplit("_", 1)[0], label)] = float(value)
        for (kind, label), total in sums.items():
            count = counts.get((kind, label), 0)
            if count:
                what = {
                    "handler_seconds": "receipt to ack",
                    "handler_run_seconds": "handler runs",
                    "rpc_seconds": "rpc",
                }
                hops[f"{name} {what[kind]} {label}"] = {"count": int(count), "mean_ms": round(total / count * 1000, 2)}
    return hops


def store_status(stack):
    """The store's operation counters so far (serverStatus `opcounters`: insert, query, update,
    delete, getmore, command — a transaction's commit is a command) and per database (`top`)."""
    from pymongo import MongoClient

    with MongoClient(stack.env["MONGODB_URI"], serverSelectionTimeoutMS=5000) as client:
        opcounters = client.admin.command("serverStatus").get("opcounters", {})
        totals = client.admin.command("top").get("totals", {})
    by_database = {}
    for namespace, sections in totals.items():
        if namespace == "note" or not namespace.startswith(stack.db_prefix):
            continue
        database, _, collection = namespace.partition(".")
        service = database[len(stack.db_prefix) :]
        entry = by_database.setdefault(service, {"count": 0, "micros": 0, "collections": {}})
        entry["count"] += sections["total"]["count"]
        entry["micros"] += sections["total"]["time"]
        entry["collections"][collection] = sections["total"]["count"]
    return {"opcounters": opcounters, "by_database": by_database}


class Snapshot:
    """What the counters say at one moment: CPU per process, the store's operations, and the
    services' own counts of store transactions."""

    def __init__(self, stack):
        self.at = time.monotonic()
        self.cpu = stack.cpu_seconds()
        self.store = store_status(stack)
        texts = service_metrics(stack)
        self.transactions = counters(texts, "store_transactions")
        self.attempts = counters(texts, "store_transaction_attempts")

    def cost(self, later, registrations):
        """What one registration cost between this snapshot and `later`."""
        cpu = {k: round(v * 1000, 2) for k, v in figures.per_registration(self.cpu, later.cpu, registrations).items()}
        ops = figures.store_operations(self.store["opcounters"], later.store["opcounters"], registrations)
        databases = {}
        for service, entry in later.store["by_database"].items():
            before = self.store["by_database"].get(service, {"count": 0, "micros": 0, "collections": {}})
            collections = {
                name: round((count - before["collections"].get(name, 0)) / max(registrations, 1), 2)
                for name, count in entry["collections"].items()
                if count != before["collections"].get(name, 0)
            }
            databases[service] = {
                "operations": round((entry["count"] - before["count"]) / max(registrations, 1), 2),
                "store_ms": round((entry["micros"] - before["micros"]) / 1000 / max(registrations, 1), 2),
                "by_collection": dict(sorted(collections.items(), key=lambda item: -item[1])),
            }
        return {
            "registrations": registrations,
            "seconds": round(later.at - self.at, 1),
            "cpu_ms_per_registration": dict(sorted(cpu.items(), key=lambda item: -item[1])),
            "cpu_ms_per_registration_total": round(sum(cpu.values()), 2),
            "store_operations_per_registration": ops["total"],
            "store_operations_by_kind": ops["by_kind"],
            "store_operations_by_service": databases,
            "store_transactions_per_registration": {
                k: round(v, 2)
                for k, v in figures.per_registration(self.transactions, later.transactions, registrations).items()
            },
            "store_transaction_attempts_per_registration": {
                k: round(v, 2)
                for k, v in figures.per_registration(self.attempts, later.attempts, registrations).items()
            },
        }


def sustained(stack, intake, first, seconds):
    """Closed loop at saturation: keep IN_FLIGHT registrations between intake and receipt for
    `seconds`; the receipts accepted in that window, per second, are the throughput. The cost is
    taken over the window (per registration received in it) and until the last of them has its
    receipt and the outbox sweep after it (each registration counted whole)."""
    start_snapshot = Snapshot(stack)
    baseline = stack.mail_count()
    index, series = first, []
    start = time.monotonic()
    next_tick, last_count = start + 1, baseline
    while time.monotonic() - start < seconds:
        received = stack.mail_count()
        if index - first - (received - baseline) < IN_FLIGHT:
            intake.send(index)
            index += 1
            time.sleep(1 / MAX_OFFERED_RATE)
        else:
            time.sleep(0.01)
        if time.monotonic() >= next_tick:
            series.append(received - last_count)
            last_count, next_tick = received, next_tick + 1
    in_window = stack.mail_count() - baseline
    window_snapshot = Snapshot(stack)
    loaded = list(range(first, index))
    rate = in_window / seconds
    say(f"   {rate:.1f} registrations/s; waiting for the last receipts")
    try:
        wait_receipts(stack, intake, loaded)
        time.sleep(SETTLE_SECONDS)
        drained = start_snapshot.cost(Snapshot(stack), len(loaded))
    except TimeoutError as exc:
        say(f"   {exc}")
        drained = None
    window = start_snapshot.cost(window_snapshot, len(loaded))
    window["store"] = figures.store_saturation(
        window_snapshot.cpu.get("store", 0) - start_snapshot.cpu.get("store", 0), seconds
    )
    return loaded, {
        "registrations_per_s": round(rate, 1),
        "seconds": seconds,
        "sent": len(loaded),
        "receipts_per_second_series": series,
        "cost_over_the_phase": window,
        "cost_until_the_last_receipt": drained,
    }


def placed_twice(stack):
    """People in more than one live group of matching's store."""
    from pymongo import MongoClient

    with MongoClient(stack.env["MONGODB_URI"], serverSelectionTimeoutMS=5000) as client:
        groups = list(client[f"{stack.db_prefix}matching"].groups.find({}, {"members": 1, "state": 1}))
    return figures.placed_more_than_once(groups)


def exactly_once(stack, intake, sent):
    receipts = stack.receipts()
    counts = [len(receipts.get(intake.address(i), [])) for i in sent]
    return {
        "registrations_sent": len(sent),
        "with_exactly_one_receipt": counts.count(1),
        "without_receipt": counts.count(0),
        "with_duplicates": sum(1 for c in counts if c > 1),
    }


def rss(stack):
    return {name: round(stack.rss_mb(name) or 0, 1) for name in stack.service_processes()}


def at_rest(stack, seconds=5):
    """RSS of every service once the pipeline has been idle for a few seconds."""
    time.sleep(seconds)
    return rss(stack)


def matching_engine():
    if SKIP_ENGINE:
        say("matching engine: skipped (BENCH_SKIP_ENGINE)")
        return {"skipped": "BENCH_SKIP_ENGINE"}
    if importlib.util.find_spec("bench.matching_bench") is None:
        say("matching engine: bench/matching_bench.py is not in this tree; section skipped")
        return {"skipped": "bench/matching_bench.py not present"}
    say("matching engine at 100,000 people (bench.matching_bench.run)")
    code = (
        "import json; from bench.matching_bench import run; "
        "r = run(100_000, pools_limit=0, log=lambda line: None); "  # the replay: make bench-matching
        "print(json.dumps({k: v for k, v in r.items() if k != 'replay'}))"
    )
    try:  # the exact pass stops at its own CPU budget (bench.matching_bench.EXACT_PASS_CPU_SECONDS)
        result = subprocess.run([PYTHON, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    except subprocess.TimeoutExpired:
        return {"failed": "did not finish within 1,800 s"}
    if result.returncode != 0:
        return {"failed": result.stderr[-1500:]}
    return json.loads(result.stdout.strip().splitlines()[-1])


def chart(report_path, png_path):
    if not (CHART_VENV / f".installed-{CHART_PIN}").exists():
        say(f"installing {CHART_PIN} into {CHART_VENV.relative_to(ROOT)}")
        subprocess.run([sys.executable, "-m", "venv", str(CHART_VENV)], check=True)
        subprocess.run(
            [str(CHART_VENV / "bin/pip"), "install", "-q", CHART_PIN],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        (CHART_VENV / f".installed-{CHART_PIN}").touch()
    subprocess.run(
        [str(CHART_VENV / "bin/python"), str(ROOT / "bench" / "chart.py"), str(report_path), str(png_path)],
        check=True,
        timeout=120,
    )


def derive(report):
    """The headline figures of issue 19 from the measured ones (bench/figures.py)."""
    one_hop_rate = report["one_hop"]["dispatch_and_handle_per_s"]
    sustained_phase = report["sustained"]
    cost = sustained_phase["cost_until_the_last_receipt"] or sustained_phase["cost_over_the_phase"]
    window = sustained_phase["cost_over_the_phase"]
    cpu_ms = cost["cpu_ms_per_registration_total"]
    cores = report["machine"]["cores"]
    without = figures.without_store(cost["cpu_ms_per_registration"], one_hop_rate, cores)
    derived = {
        "one_hop_rate_per_s": one_hop_rate,
        "one_hop_cpu_rate_per_s": report["one_hop"].get("cpu_rate_per_s"),
        "cpu_ms_per_registration": cpu_ms,
        "one_hop_units_per_registration": round(figures.one_hop_units(cpu_ms, one_hop_rate), 1),
        "one_hop_units_per_registration_by_cpu_rate": round(
            figures.one_hop_units(cpu_ms, report["one_hop"].get("cpu_rate_per_s") or 0), 1
        ),
        "store_operations_per_registration": cost["store_operations_per_registration"],
        "store_operations_per_registration_over_the_phase": window["store_operations_per_registration"],
        "one_hop_units_per_registration_over_the_phase": round(
            figures.one_hop_units(window["cpu_ms_per_registration_total"], one_hop_rate), 1
        ),
        "sustained_registrations_per_s": sustained_phase["registrations_per_s"],
        "sustained_share_of_one_hop": round(sustained_phase["registrations_per_s"] / one_hop_rate, 3),
        **window["store"],
        "without_the_store": without,
    }
    transactions = sum(cost["store_transactions_per_registration"].values())
    derived["store_transactions_per_registration"] = round(transactions, 2)
    if derived["store_saturated"]:
        derived["replica_set_projection"] = figures.replica_set_projection(
            cost["store_operations_per_registration"], transactions, without["cpu_ms_per_registration"], cores
        )
    return derived


def main():
    report = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "targets": figures.TARGETS,
        "settings": {
            "light_rate": LIGHT_RATE,
            "latency_seconds": LATENCY_SECONDS,
            "sustain_seconds": SUSTAIN_SECONDS,
            "scale_seconds": SCALE_SECONDS,
            "in_flight": IN_FLIGHT,
            "scaled_replicas": SCALED,
        },
    }
    report["machine"].update(quiet_machine())
    stack = Stack(SLOT, "bench")
    run_id = uuid.uuid4().hex[:8]
    say(f"starting broker and store in test slot {SLOT} ({stack.run_dir})")
    stack.start_infra(fresh=True)
    sampler = None
    try:
        report["one_hop"] = one_hop(stack)
        say(f"   {report['one_hop']}")
        say("starting the five services and the SMTP sink; loading the example directory")
        stack.start_services()
        intake = Intake(stack.amqp_uri, run_id)
        for i in range(20):  # warm-up: connections, indexes, first imports
            intake.send(i)
        wait_receipts(stack, intake, range(20), timeout=60)
        sent = list(range(20))
        rest_before = at_rest(stack)
        sampler = RssSampler(stack)
        sampler.start()

        say(f"2/6 latency at {LIGHT_RATE}/s (the pipeline's own latency, no queueing), {LATENCY_SECONDS:.0f}s")
        light, report["latency_at_10_per_s"] = latency(stack, intake, 500, LIGHT_RATE, LATENCY_SECONDS)
        sent += light

        say(f"3/6 throughput at saturation ({IN_FLIGHT} in flight) sustained {SUSTAIN_SECONDS:.0f}s")
        loaded, report["sustained"] = sustained(stack, intake, 100_000, SUSTAIN_SECONDS)
        sent += loaded
        report["where_the_time_goes"] = {"per_hop": per_hop(service_metrics(stack))}

        rate = figures.latency_rate(report["sustained"]["registrations_per_s"])
        say(f"4/6 latency at {rate}/s (50/s, or half the sustained rate below 100/s), {LATENCY_SECONDS:.0f}s")
        paced, report["latency"] = latency(stack, intake, 10_000, rate, LATENCY_SECONDS)
        sent += paced
        rest_after = at_rest(stack)

        say(f"5/6 scale-out: two replicas of matching and notification, sustained {SCALE_SECONDS:.0f}s")
        stack.start_replicas(SCALED)
        scaled, scaled_phase = sustained(stack, intake, 200_000, SCALE_SECONDS)
        sent += scaled
        report["sustained"]["all_runs"] = exactly_once(stack, intake, sent)
        scaled_counts = exactly_once(stack, intake, scaled)
        report["scale_out"] = {
            **figures.scale_out(
                report["sustained"]["registrations_per_s"],
                scaled_phase["registrations_per_s"],
                placed_twice(stack),
                scaled_counts["with_duplicates"],
            ),
            "phase": scaled_phase,
        }
        say(f"   nothing lost: {report['sustained']['all_runs']}; scale-out {report['scale_out']['ratio']}")
        sampler.stop()
        report["rss_at_rest_mb"] = {
            name: max(rest_before.get(name, 0), rest_after.get(name, 0)) for name in {*rest_before, *rest_after}
        }
        report["rss_under_load_mb"] = {name: round(value, 1) for name, value in sampler.peak.items()}
        intake.close()
    finally:
        if sampler is not None:
            sampler.stop()
        say("6/6 stopping the services")
        stack.stop_services()
    report["matching_engine"] = matching_engine()
    say("stopping broker and store")
    stack.stop_infra()
    report["figures"] = derive(report)
    report["targets_met"] = figures.check_targets(report)
    report["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    OUT.mkdir(parents=True, exist_ok=True)
    report_path, png_path = OUT / "report.json", OUT / "bench.png"
    # numeric lists (latency samples, the per-second series) on one line each: a short diff per run
    text = re.sub(r"\[[\d.,\s-]+\]", lambda m: json.dumps(json.loads(m.group(0))), json.dumps(report, indent=2))
    report_path.write_text(text + "\n")
    chart(report_path, png_path)
    print(
        json.dumps({"machine": report["machine"], "one_hop": report["one_hop"], "figures": report["figures"]}, indent=2)
    )
    for row in report["targets_met"]:
        mark = {True: "met", False: "MISSED", None: "see evidence"}[row["met"]]
        say(f"   {mark:>12}  {row['target']}: {row['value']} (target {row['relation']} {row['limit']})")
    say(f"report: {report_path.relative_to(ROOT)}, chart: {png_path.relative_to(ROOT)}")
    return 0 if report["sustained"]["all_runs"]["without_receipt"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
