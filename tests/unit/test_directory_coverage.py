"""Coverage figures and the coverage map, on the example directory and the real reference data."""

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from services.directory import coverage, coverage_map
from services.directory.example import example_contact_points
from services.directory.reference import reference_data
from services.directory.report import coverage_summary

ROOT = Path(__file__).resolve().parents[2]
SVG = "{http://www.w3.org/2000/svg}"


def example_coverage():
    return coverage.coverage(reference_data(), example_contact_points())


def test_the_example_directory_covers_thirteen_municipalities_and_a_third_of_the_people():
    national = example_coverage()["national"]
    assert (national["municipalities"], national["covered_municipalities"]) == (357, 13)
    assert national["population"] == 5_550_203  # SSB's national total for 2024-01-01
    # Oslo, Bergen, Øygarden, Askøy, Alver, Trondheim, Stange, Horten, Fredrikstad, Tromsø, Bodø,
    # Kristiansand, Stavanger
    assert national["covered_population"] == (
        717_710
        + 291_940
        + 39_768
        + 30_145
        + 29_986
        + 214_565
        + 21_605
        + 27_939
        + 85_230
        + 78_745
        + 53_712
        + 116_986
        + 149_048
    )
    assert national["municipality_share"] == round(13 / 357, 4)
    assert national["population_share"] == round(national["covered_population"] / 5_550_203, 4)


def test_counties_and_municipalities_say_who_covers_them():
    report = example_coverage()
    counties = {c["county_number"]: c for c in report["counties"]}
    assert len(counties) == 15 and sum(c["municipalities"] for c in counties.values()) == 357
    assert (counties["46"]["covered_municipalities"], counties["46"]["municipalities"]) == (4, 43)
    assert counties["03"]["population_share"] == 1.0 and counties["56"]["covered_population"] == 0
    rows = {row["municipality_number"]: row for row in report["municipalities"]}
    assert rows["4627"]["contact_point_ids"] == ["link-bergen"] and rows["4627"]["covered"]
    assert rows["0301"]["contact_point_ids"] == ["link-oslo"]  # the national office does not count
    assert not rows["5601"]["covered"] and rows["5601"]["contact_point_ids"] == []
    assert "Kartverket" in report["attribution"]["municipalities"]


def test_an_inactive_contact_point_covers_nothing():
    contact_points = [
        {**cp, "active": False} if cp["contact_point_id"] == "link-oslo" else cp for cp in example_contact_points()
    ]
    assert coverage.coverage(reference_data(), contact_points)["national"]["covered_municipalities"] == 12


def test_the_map_has_357_municipality_shapes_coloured_by_coverage_with_legend_and_attribution():
    contact_points = example_contact_points()
    svg = coverage_map.render(
        coverage.coverage(reference_data(), contact_points), coverage_map.contact_point_names(contact_points)
    )
    root = ET.fromstring(svg)  # well-formed XML
    shapes = [p for p in root.iter(f"{SVG}path") if p.get("data-municipality")]
    assert len(shapes) == 357 == len({p.get("data-municipality") for p in shapes})
    assert {p.get("data-municipality") for p in shapes} == set(reference_data().municipalities)
    by_number = {p.get("data-municipality"): p for p in shapes}
    assert by_number["4627"].get("class") == "covered" and by_number["5601"].get("class") == "uncovered"
    assert by_number["4627"].get("fill") != by_number["5601"].get("fill")
    assert by_number["4627"].find(f"{SVG}title").text == "Askøy (4627): LINK Bergen og omegn"
    texts = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "© Kartverket" in texts and "Has a contact point" in texts and "No contact point" in texts
    assert "13 of 357 municipalities" in texts


def test_the_map_keeps_norway_in_shape_north_up_and_taller_than_wide():
    paths, height = coverage_map._projected()
    width = coverage_map.WIDTH
    assert height > width

    def centre(number):
        numbers = [float(n) for n in re.findall(r"-?\d+\.\d", paths[number])]
        return sum(numbers[0::2]) / len(numbers[0::2]), sum(numbers[1::2]) / len(numbers[1::2])

    oslo, bergen, tromso, vardo = centre("0301"), centre("4601"), centre("5501"), centre("5634")
    assert bergen[0] < oslo[0] and tromso[1] < oslo[1] < bergen[1] + 60  # west, north (y grows down)
    assert vardo[0] > tromso[0] and vardo[1] < oslo[1]


def test_the_documentation_states_the_coverage_the_code_computes():
    doc = (ROOT / "docs/directory.md").read_text(encoding="utf-8")
    assert coverage_summary(example_coverage()) in doc
