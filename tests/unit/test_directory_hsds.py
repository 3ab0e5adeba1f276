"""The HSDS 3.0 export validates against Open Referral's own JSON schemas (tests/data/hsds-3.0)."""

import csv
import io
import json
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


@pytest.fixture(scope="module")
def registry():
    resources = [
        (
            path.name,
            Resource.from_contents(json.loads(path.read_text(encoding="utf-8")), default_specification=DRAFT202012),
        )
        for path in SCHEMAS.glob("*.json")
    ]
    return Registry().with_resources(resources)


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
        "Fredrikstad bibliotek, meeting room",
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
