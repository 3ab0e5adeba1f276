"""The one document a transaction writes besides its state change (services/common/store.py)."""

from datetime import UTC, datetime

from services.common.store import EMIT_PREFIX, PENDING, transaction_record

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
ENTRY = {"_id": "e1", "routing_key": "registration_created", "body": {"event_id": "e1"}}


def test_an_applied_event_that_emits_is_its_ledger_entry_and_its_outbox_in_one_record():
    record = transaction_record("event-1", [ENTRY], NOW)
    assert record == {"_id": "event-1", "applied_at": NOW, "outbox": [ENTRY], PENDING: NOW}


def test_an_applied_event_that_emits_nothing_is_a_ledger_entry_alone():
    assert transaction_record("event-1", [], NOW) == {"_id": "event-1", "applied_at": NOW}


def test_a_transaction_without_an_event_is_recorded_under_its_first_emitted_event():
    record = transaction_record(None, [ENTRY, {**ENTRY, "_id": "e2"}], NOW)
    assert record["_id"] == EMIT_PREFIX + "e1" and len(record["outbox"]) == 2


def test_a_transaction_that_neither_applies_nor_emits_writes_no_record():
    assert transaction_record(None, [], NOW) is None
