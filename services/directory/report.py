"""What the example directory gives, computed from the data: `python -m services.directory.report`.

Prints the coverage summary that docs/directory.md quotes (a test keeps the two equal); with
`--out DIR` also writes the coverage map (SVG) and the HSDS export (JSON and CSV) there.
"""

import argparse
import json
from pathlib import Path

from . import coverage, coverage_map, hsds
from .example import example_contact_points
from .reference import reference_data


def coverage_summary(report):
    """Markdown lines: the national figures, then one line per county."""
    national = report["national"]
    lines = [
        f"- Nationwide: {national['covered_municipalities']} of {national['municipalities']} municipalities "
        f"({national['municipality_share']:.1%}) and {national['covered_population']:,} of "
        f"{national['population']:,} inhabitants ({national['population_share']:.1%}, population 2024-01-01).",
        "",
        "| county | municipalities covered | population covered |",
        "|---|---|---|",
    ]
    lines += [
        f"| {c['county_number']} {c['name']} | {c['covered_municipalities']} of {c['municipalities']} | "
        f"{c['covered_population']:,} of {c['population']:,} ({c['population_share']:.1%}) |"
        for c in report["counties"]
    ]
    return "\n".join(lines)


def write_files(out, contact_points, report):
    out.mkdir(parents=True, exist_ok=True)
    reference = reference_data()
    (out / "coverage_map.svg").write_text(
        coverage_map.render(report, coverage_map.contact_point_names(contact_points)), encoding="utf-8"
    )
    (out / "hsds.json").write_text(
        json.dumps(hsds.export(reference, contact_points), ensure_ascii=False, indent=1), encoding="utf-8"
    )
    for name, text in hsds.to_csv(hsds.tables(reference, contact_points)).items():
        (out / name).write_text(text, encoding="utf-8")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the map and the HSDS export here")
    args = parser.parse_args(argv)
    contact_points = example_contact_points()
    report = coverage.coverage(reference_data(), contact_points)
    print(coverage_summary(report))
    if args.out:
        write_files(args.out, contact_points, report)


if __name__ == "__main__":
    main()
