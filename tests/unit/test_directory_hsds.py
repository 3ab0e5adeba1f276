"""The HSDS 3.0 export validates against Open Referral's own JSON schemas (tests/data/hsds-3.0)."""

import csv
import io
import json
from functools import cache
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from services.directory import hsds
from services.directory.example import example_contact_points
from services.directory.reference import reference_data

SCHEMAS = Path(__file__).resolve().parents[1] / "data/hsds-3.0"


def load(name):
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


@cache
def hsds_registry():
    resources = [
        (
            path.name,
            Resource.from_contents(json.loads(path.read_text(encoding="utf-8")), default_specification=DRAFT202012),
        )
        for path in SCHEMAS.glob("*.json")
    ]
    return Registry().with_resources(resources)


@pytest.fixture(scope="module")
def registry():
    return hsds_registry()


def assert_valid_hsds(tables):
    """Every row against its HSDS 3.0 table schema, and the tables against the tabular schema."""
    for table, rows in tables.items():
        schema = validator(load(f"{table}.json"), hsds_registry())
        for row in rows:
            errors = [e.message for e in schema.iter_errors(row)]
            assert not errors, (table, row, errors)
    errors = [
        f"{list(e.path)}: {e.message}"
        for e in validator(load("compiled/tabular.json"), hsds_registry()).iter_errors(tables)
    ]
    assert not errors


@pytest.fixture(scope="module")
def export():
    return hsds.export(reference_data(), example_contact_points())


def validator(schema, registry):
    return Draft202012Validator(schema, registry=registry, format_checker=FormatChecker())


def test_every_row_validates_against_its_hsds_schema(export, registry):
    tables = export["tables"]
    for table in hsds.TABLES:
        schema = validator(load(f"{table}.json"), registry)
        assert tables[table], f"{table} is empty"
        for row in tables[table]:
            errors = [e.message for e in schema.iter_errors(row)]
            assert not errors, (table, row, errors)


def test_the_tables_validate_against_the_compiled_tabular_schema(export, registry):
    errors = [
        f"{list(e.path)}: {e.message}"
        for e in validator(load("compiled/tabular.json"), registry).iter_errors(export["tables"])
    ]
    assert not errors


def test_the_validation_would_catch_a_broken_row(export, registry):
    schema = validator(load("service.json"), registry)
    broken = {**export["tables"]["service"][0], "status": "open", "id": "link-oslo"}
    assert len(list(schema.iter_errors(broken))) == 2


def test_ids_are_stable_uuids_and_links_resolve(export):
    tables = export["tables"]
    assert export == hsds.export(reference_data(), example_contact_points())
    ids = {table: {row["id"] for row in rows} for table, rows in tables.items()}
    assert all(len(rows) == len(ids[table]) for table, rows in tables.items())
    for row in tables["service"]:
        assert row["organization_id"] in ids["organization"]
    for table in ("service_at_location", "service_area", "language", "phone", "contact"):
        assert {row["service_id"] for row in tables[table]} <= ids["service"]
    for table in ("address", "accessibility", "schedule"):
        assert {row["location_id"] for row in tables[table]} <= ids["location"]


def test_the_export_names_no_person_and_keeps_the_attribution(export):
    text = json.dumps(export, ensure_ascii=False)
    for first_name in ("Sigrid", "Anders", "Kristin"):
        assert first_name not in text
    assert "© Kartverket" in text and "openreferral.org" in text
    fredrikstad = [row["name"] for row in export["tables"]["location"] if "Fredrikstad" in row["name"]]
    assert fredrikstad == [
        "Fredrikstad kommune, selvhjelpskoordinator (Rask psykisk helsehjelp)",
        "Fredrikstad bibliotek, møterommet",
        "Fredrikstad frivilligsentral",
    ]
    areas = [
        row["name"]
        for row in export["tables"]["service_area"]
        if row["service_id"] == hsds.hsds_id("service", "link-bergen")
    ]
    assert areas == ["Bergen", "Øygarden", "Askøy", "Alver"]


def test_the_csv_files_have_hsds_names_and_columns_and_every_row(export):
    files = hsds.to_csv(export["tables"])
    for table, (file_name, columns) in hsds.TABLES.items():
        schema = load(f"{table}.json")
        assert schema["path"] == file_name
        rows = list(csv.DictReader(io.StringIO(files[file_name])))
        assert set(columns) <= set(schema["properties"])
        assert set(schema["required"]) <= set(columns)
        assert len(rows) == len(export["tables"][table])
    services = list(csv.DictReader(io.StringIO(files["services.csv"])))
    assert {row["alternate_name"] for row in services} >= {"LINK Oslo", "Stangehjelpa"}


@pytest.fixture(scope="module")
def open_export():
    closed = {**example_contact_points()[0], "contact_point_id": "closed-cp", "active": False}
    return hsds.export(reference_data(), [*example_contact_points(), closed], open_only=True)


def test_taking_part_is_free_in_every_service(export):
    options = {row["service_id"]: row for row in export["tables"]["cost_option"]}
    assert set(options) == {row["id"] for row in export["tables"]["service"]}
    assert {(row["option"], row["amount"], row["currency"]) for row in options.values()} == {("Gratis", 0, "NOK")}


def test_schedules_say_how_one_attends_and_digital_groups_have_a_virtual_location(export):
    tables = export["tables"]
    assert {row["attending_type"] for row in tables["schedule"]} == {"Oppmøte", "Digitalt (video)"}
    virtual = [row for row in tables["location"] if row["location_type"] == "virtual"]
    assert sorted(row["name"] for row in virtual)[:1] == ["Distriktskontor Nord (Tromsø): digitale grupper"]
    assert len(virtual) == 7  # the three LINK centres and the four district offices run digital groups
    assert all("url" not in row for row in virtual)  # a group's video link is its own
    digital = [row for row in tables["schedule"] if row["attending_type"] == "Digitalt (video)"]
    assert {row["location_id"] for row in digital} == {row["id"] for row in virtual}


def test_a_district_office_has_the_national_office_as_its_parent_organisation(export):
    organisations = {row["name"]: row for row in export["tables"]["organization"]}
    national = organisations["Nasjonalt kompetansesenter for selvorganisert selvhjelp (example)"]
    assert organisations["Distriktskontor Vest (Stavanger)"]["parent_organization_id"] == national["id"]
    assert "parent_organization_id" not in national and "parent_organization_id" not in organisations["Bergen kommune"]


def test_the_descriptions_are_norwegian_and_name_no_group_size(export):
    [bergen] = [row for row in export["tables"]["service"] if row["alternate_name"] == "LINK Bergen og omegn"]
    assert bergen["name"] == "Selvhjelpsgrupper: LINK Bergen og omegn"
    assert "Det er gratis å delta" in bergen["description"] and "digitale grupper" in bergen["description"]
    described = " ".join(
        row["description"] for rows in export["tables"].values() for row in rows if "description" in row
    )
    assert "5-8" not in described and "adults" not in described and "room for" not in described


def test_the_open_export_validates_and_has_active_contact_points_and_no_staff(open_export):
    tables = open_export["tables"]
    assert tables["contact"] == []
    assert hsds.hsds_id("service", "closed-cp") not in {row["id"] for row in tables["service"]}
    assert_valid_hsds(tables)
    text = json.dumps(open_export, ensure_ascii=False)
    for hidden in ("Kristin", "Igangsetter", '"example"', "staff_id"):
        assert hidden not in text
