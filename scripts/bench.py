"""`make bench`: start a private stack and measure, in one run (docs/operations.md shows the figures):

1. the bare nameko one-hop event rate (bench/onehop.py, no Flokk machinery);
2. p50/p99 latency from intake event to receipt accepted by the SMTP server, at 50 registrations/s
   (and at 10/s, to tell the pipeline's own latency from queueing);
3. registrations/s from intake to accepted receipt, sustained 60 s at saturation (a bounded number
   in flight), then every registration checked for exactly one receipt;
4. the peak RSS of every service while under load, and where the time goes (per-hop handler and RPC
   latency from each service's /metrics);
5. the matching engine at 100,000 people, when bench/matching_bench.py is there.

Writes docs/bench/report.json and docs/bench/bench.png. Runs in FLOKK_MODE=test slot 7
(BENCH_SLOT) so it never touches a demo; loopback only; every loop has a deadline.
    BENCH_LATENCY_SECONDS (30), BENCH_SUSTAIN_SECONDS (60), BENCH_IN_FLIGHT (300)
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

from bench.stack import PYTHON, ROOT, SERVICES, Intake, RssSampler, Stack, say, wait_for

SLOT = int(os.environ.get("BENCH_SLOT", "7"))
LATENCY_RATE = 50
LIGHT_RATE = 10
LATENCY_SECONDS = float(os.environ.get("BENCH_LATENCY_SECONDS", "30"))
SUSTAIN_SECONDS = float(os.environ.get("BENCH_SUSTAIN_SECONDS", "60"))
IN_FLIGHT = int(os.environ.get("BENCH_IN_FLIGHT", "300"))
MAX_OFFERED_RATE = 1000
DRAIN_SECONDS = 180
OUT = ROOT / "docs" / "bench"
CHART_VENV = ROOT / ".tools" / "bench-venv"
CHART_PIN = "matplotlib==3.11.2"
TARGETS = {"registrations_per_s": 200, "p99_ms": 150, "rss_mb": 300}


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
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def one_hop(stack):
    say("1/5 bare nameko one-hop event rate")
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


def latency_summary(samples, sent):
    return {
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


def latencies_ms(stack, intake, indexes):
    receipts = stack.receipts()
    return [
        (min(receipts[intake.address(i)]) - intake.sent_at[i]) * 1000 for i in indexes if intake.address(i) in receipts
    ]


def sustained(stack, intake, first):
    """Closed loop at saturation: keep IN_FLIGHT registrations between intake and receipt for
    SUSTAIN_SECONDS; the receipts accepted in that window, per second, are the throughput."""
    baseline = stack.mail_count()
    index, series = first, []
    start = time.monotonic()
    next_tick, last_count = start + 1, baseline
    while time.monotonic() - start < SUSTAIN_SECONDS:
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
    return list(range(first, index)), in_window / SUSTAIN_SECONDS, series


def scrape(stack):
    """Mean handler and RPC time per hop from each service's /metrics (services.sh numbers the
    metrics ports in SERVICES order from FLOKK_METRICS_BASE + 1)."""
    base = int(stack.env["FLOKK_METRICS_BASE"])
    hops = {}
    for offset, service in enumerate(SERVICES, start=1):
        try:
            text = urllib.request.urlopen(f"http://127.0.0.1:{base + offset}/metrics", timeout=5).read().decode()
        except OSError:
            continue
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
                }[kind]
                hops[f"{service} {what} {label}"] = {"count": int(count), "mean_ms": round(total / count * 1000, 2)}
    return hops


def store_operations(stack):
    """The store's operation counters so far (serverStatus `opcounters`: insert, query, update,
    delete, getmore, command — a transaction's commit is a command)."""
    from pymongo import MongoClient

    with MongoClient(stack.env["MONGODB_URI"], serverSelectionTimeoutMS=5000) as client:
        return client.admin.command("serverStatus").get("opcounters", {})


def matching_engine():
    if importlib.util.find_spec("bench.matching_bench") is None:
        say("5/5 matching engine: bench/matching_bench.py is not in this tree; section skipped")
        return {"skipped": "bench/matching_bench.py not present"}
    say("5/5 matching engine at 100,000 people (bench.matching_bench.run)")
    code = (
        "import json; from bench.matching_bench import run; r = run(100_000); "
        "print(json.dumps({k: v for k, v in r.items() if k != 'quality'} | "
        "{'quality': {k: v for k, v in r.get('quality', {}).items() if k != 'rows'}}))"
    )
    result = subprocess.run([PYTHON, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=1800)
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


def main():
    stack = Stack(SLOT, "bench")
    run_id = uuid.uuid4().hex[:8]
    report = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "targets": TARGETS,
        "settings": {
            "latency_rate": LATENCY_RATE,
            "latency_seconds": LATENCY_SECONDS,
            "sustain_seconds": SUSTAIN_SECONDS,
            "in_flight": IN_FLIGHT,
        },
    }
    say(f"starting broker and store in test slot {SLOT} ({stack.run_dir})")
    stack.start_infra(fresh=True)
    sampler = None
    try:
        report["one_hop"] = one_hop(stack)
        say(f"   {report['one_hop']}")
        say("starting the five services and the SMTP sink; loading the example directory")
        stack.start_services()
        report["rss_idle_mb"] = {name: round(stack.rss_mb(name) or 0, 1) for name in SERVICES}
        sampler = RssSampler(stack)
        sampler.start()
        intake = Intake(stack.amqp_uri, run_id)
        for i in range(20):  # warm-up: connections, indexes, first imports
            intake.send(i)
        wait_receipts(stack, intake, range(20), timeout=60)

        say(
            f"2/5 latency at {LIGHT_RATE}/s (the pipeline's own latency, no queueing) and at "
            f"{LATENCY_RATE} registrations/s, {LATENCY_SECONDS:.0f}s each"
        )
        light = send_paced(intake, 500, LIGHT_RATE, LATENCY_SECONDS)
        wait_receipts(stack, intake, light)
        report["latency_at_10_per_s"] = latency_summary(latencies_ms(stack, intake, light), len(light))
        paced = send_paced(intake, 10_000, LATENCY_RATE, LATENCY_SECONDS)
        wait_receipts(stack, intake, paced)
        report["latency_at_50_per_s"] = latency_summary(latencies_ms(stack, intake, paced), len(paced))
        for key in ("latency_at_10_per_s", "latency_at_50_per_s"):
            say(f"   {key}: p50 {report[key]['p50_ms']} ms, p99 {report[key]['p99_ms']} ms")

        say(f"3/5 throughput at saturation ({IN_FLIGHT} in flight) sustained {SUSTAIN_SECONDS:.0f}s")
        cpu_before, ops_before = stack.cpu_seconds(), store_operations(stack)
        loaded, rate, series = sustained(stack, intake, 100_000)
        cpu_after, ops_after = stack.cpu_seconds(), store_operations(stack)
        say(f"   {rate:.1f} registrations/s; waiting for the last receipts")
        try:
            wait_receipts(stack, intake, loaded)
        except TimeoutError as exc:
            say(f"   {exc}")
        receipts = stack.receipts()
        sent = list(range(20)) + light + paced + loaded
        counts = [len(receipts.get(intake.address(i), [])) for i in sent]
        report["sustained"] = {
            "registrations_per_s": round(rate, 1),
            "seconds": SUSTAIN_SECONDS,
            "sent": len(loaded),
            "receipts_per_second_series": series,
            "all_runs": {
                "registrations_sent": len(sent),
                "with_exactly_one_receipt": counts.count(1),
                "without_receipt": counts.count(0),
                "with_duplicates": sum(1 for c in counts if c > 1),
            },
        }
        say(f"   nothing lost: {report['sustained']['all_runs']}")
        sampler.stop()
        report["rss_peak_mb"] = {name: round(value, 1) for name, value in sampler.peak.items()}
        report["where_the_time_goes"] = {
            "cpu_ms_per_registration": {
                name: round((cpu_after[name] - cpu_before.get(name, 0)) * 1000 / max(len(loaded), 1), 2)
                for name in sorted(cpu_after, key=lambda n: cpu_before.get(n, 0) - cpu_after[n])
            },
            "store_operations_per_registration": {
                kind: round((ops_after[kind] - ops_before.get(kind, 0)) / max(len(loaded), 1), 1)
                for kind in ops_after
                if ops_after[kind] != ops_before.get(kind, 0)
            },
            "cpu_share_of_machine": round(
                sum(cpu_after[n] - cpu_before.get(n, 0) for n in cpu_after) / (SUSTAIN_SECONDS * os.cpu_count()), 2
            ),
            "per_hop": scrape(stack),
        }
        intake.close()
    finally:
        if sampler is not None:
            sampler.stop()
        say("4/5 stopping the services")
        stack.stop_services()
    report["matching_engine"] = matching_engine()
    say("stopping broker and store")
    stack.stop_infra()
    report["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    OUT.mkdir(parents=True, exist_ok=True)
    report_path, png_path = OUT / "report.json", OUT / "bench.png"
    # numeric lists (latency samples, the per-second series) on one line each: a short diff per run
    text = re.sub(r"\[[\d.,\s-]+\]", lambda m: json.dumps(json.loads(m.group(0))), json.dumps(report, indent=2))
    report_path.write_text(text + "\n")
    chart(report_path, png_path)
    summary = {k: v for k, v in report.items() if k not in ("where_the_time_goes",)}
    for key in ("latency_at_10_per_s", "latency_at_50_per_s"):
        summary[key] = {k: v for k, v in report[key].items() if k != "samples_ms"}
    summary["sustained"] = {k: v for k, v in report["sustained"].items() if k != "receipts_per_second_series"}
    print(json.dumps(summary, indent=2))
    say(f"report: {report_path.relative_to(ROOT)}, chart: {png_path.relative_to(ROOT)}")
    return 0 if report["sustained"]["all_runs"]["without_receipt"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
