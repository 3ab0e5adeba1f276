"""Draw docs/bench/bench.png from the report of scripts/bench.py (runs in .tools/bench-venv, where
matplotlib is installed pinned, so the project's own venv stays lean).

    python bench/chart.py docs/bench/report.json docs/bench/bench.png
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def main(report_path, png_path):
    report = json.load(open(report_path))
    targets = report["targets"]
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(16, 4.8))

    series = report["sustained"]["receipts_per_second_series"]
    left.plot(range(1, len(series) + 1), series, color="tab:blue", label="receipts accepted per second")
    left.axhline(
        report["sustained"]["registrations_per_s"],
        color="tab:blue",
        linestyle=":",
        label=f"mean {report['sustained']['registrations_per_s']}/s",
    )
    left.axhline(targets["registrations_per_s"], color="tab:red", linestyle="--", label="target")
    left.set(
        title="Registrations/s, intake to accepted receipt", xlabel="second of the sustained run", ylabel="receipts/s"
    )
    left.legend(fontsize=8)

    for key, rate, colour in (("latency_at_10_per_s", 10, "tab:olive"), ("latency_at_50_per_s", 50, "tab:green")):
        lat = report[key]
        samples = sorted(lat["samples_ms"])
        fractions = [(i + 1) / len(samples) for i in range(len(samples))]
        middle.plot(
            samples, fractions, color=colour, label=f"{rate}/s: p50 {lat['p50_ms']:.0f} ms, p99 {lat['p99_ms']:.0f} ms"
        )
    middle.axvline(targets["p99_ms"], color="tab:red", linestyle="--", label="p99 target")
    middle.set(
        title="Latency, intake event to accepted receipt",
        xlabel="intake to accepted receipt (ms)",
        ylabel="share of registrations",
        xscale="log",
    )
    middle.legend(fontsize=8)

    names = list(report["rss_peak_mb"])
    right.bar(names, [report["rss_peak_mb"][n] for n in names], color="tab:purple", label="peak under load")
    right.bar(names, [report["rss_idle_mb"].get(n, 0) for n in names], color="tab:gray", alpha=0.6, label="idle")
    right.axhline(targets["rss_mb"], color="tab:red", linestyle="--", label="target")
    right.set(title="Resident memory per service (MB)", ylabel="MB")
    right.tick_params(axis="x", labelrotation=20)
    right.legend(fontsize=8)

    machine = report["machine"]
    fig.suptitle(
        f"Flokk bench {report['started_at']} on {machine['cores']} cores ({machine['cpu']}), "
        f"one-hop nameko {report['one_hop']['dispatch_and_handle_per_s']} events/s",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(png_path, dpi=90)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
