"""Draw docs/bench/bench.png from the report of scripts/bench.py (runs in .tools/bench-venv, where
matplotlib is installed pinned, so the project's own venv stays lean).

    python bench/chart.py docs/bench/report.json docs/bench/bench.png
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import NullFormatter


def main(report_path, png_path):
    report = json.load(open(report_path))
    targets = report["targets"]
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(16, 4.8))

    for phase, colour, name in (
        (report["sustained"], "tab:blue", "one replica each"),
        (report.get("scale_out", {}).get("phase"), "tab:cyan", "two of matching and notification"),
    ):
        if not phase:
            continue
        series = phase["receipts_per_second_series"]
        left.plot(
            range(1, len(series) + 1), series, color=colour, label=f"{name}: mean {phase['registrations_per_s']}/s"
        )
    one_hop_rate = report["one_hop"]["dispatch_and_handle_per_s"]
    share = targets["sustained_share_of_one_hop"]
    left.axhline(share * one_hop_rate, color="tab:red", linestyle="--", label=f"target: {share} x one-hop rate")
    left.set(
        title="Registrations/s, intake to accepted receipt", xlabel="second of the sustained run", ylabel="receipts/s"
    )
    left.legend(fontsize=8)

    for key, colour in (("latency_at_10_per_s", "tab:olive"), ("latency", "tab:green")):
        lat = report[key]
        rate = lat["rate_per_s"]
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
    middle.xaxis.set_minor_formatter(NullFormatter())  # the decade labels only: minor ones overlap
    middle.legend(fontsize=8)

    names = sorted(report["rss_under_load_mb"])
    right.bar(names, [report["rss_under_load_mb"][n] for n in names], color="tab:purple", label="peak under load")
    right.bar(names, [report["rss_at_rest_mb"].get(n, 0) for n in names], color="tab:gray", alpha=0.6, label="at rest")
    right.axhline(targets["rss_mb_under_load"], color="tab:red", linestyle="--", label="target under load")
    right.axhline(targets["rss_mb_at_rest"], color="tab:orange", linestyle=":", label="target at rest")
    right.set(title="Resident memory per service (MB)", ylabel="MB")
    right.tick_params(axis="x", labelrotation=20)
    right.legend(fontsize=8)

    machine, derived = report["machine"], report["figures"]
    fig.suptitle(
        f"Flokk bench {report['started_at']} on {machine['cores']} cores ({machine['cpu']}), load "
        f"{machine['load_average_at_start'][0]} at the start; one-hop nameko {derived['one_hop_rate_per_s']} "
        f"events/s; a registration costs {derived['one_hop_units_per_registration']} one-hop event times "
        f"({derived.get('one_hop_units_per_registration_by_cpu_rate')} by its CPU rate) "
        f"and {derived['store_operations_per_registration']} store operations",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(png_path, dpi=90)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
