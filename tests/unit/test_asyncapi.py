from pathlib import Path

import yaml

from services.common import asyncapi
from services.common.contracts import EVENTS

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"


def test_the_checked_in_asyncapi_document_is_current():
    assert DOCUMENT.read_text(encoding="utf-8") == asyncapi.render(), "docs/asyncapi.yaml is stale: run `make asyncapi`"


def test_every_event_has_a_channel_and_a_payload_schema():
    document = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))
    assert len(document["channels"]) == len(EVENTS)
    schemas = document["components"]["schemas"]
    for message in document["components"]["messages"].values():
        ref = message["payload"]["properties"]["data"]["$ref"].rsplit("/", 1)[1]
        assert ref in schemas
