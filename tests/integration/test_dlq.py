"""flokk-dlq on the real broker: dead letters made by the shared delivery of a running service are
listed, shown masked, replayed to the one queue they failed in (attempts reset) and purged, with
the exit codes of the runbook (docs/operations.md, "Dead letters")."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from kombu import Connection

from services.common import clock, contracts, dlq, topology
from services.common.delivery import handle_event
from tests.bus import publish
from tests.samples import envelope
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
HANDLED = []  # event ids the probe handled
STATE = {"failures_left": 0}


class ProbeService:
    name = "probe"

    @handle_event("matching", "registration_unroutable")
    def handle_registration_unroutable(self, event):
        if STATE["failures_left"] > 0:
            STATE["failures_left"] -= 1
            raise ConnectionError("transient")
        HANDLED.append(event.event_id)


@pytest.fixture
def probe(container_factory, service_config, monkeypatch):
    """A running service `probe` (3 attempts, then a dead letter) in a vhost of its own, with the
    whole topology declared, so other services' queues see the same events."""
    monkeypatch.setitem(contracts.SUBSCRIPTIONS, "probe", [("matching", "registration_unroutable")])
    monkeypatch.setattr(contracts, "SERVICES", (*contracts.SERVICES, "probe"))
    amqp_uri = service_config["AMQP_URI"]
    monkeypatch.setenv("AMQP_URI", amqp_uri)
    HANDLED.clear()
    STATE["failures_left"] = 0
    topology.main(amqp_uri)
    container_factory(ProbeService, service_config).start()
    return amqp_uri


def unroutable(**changes):
    return envelope(
        {"registration_id": "r-kari", "reason": "no contact point near"},
        event_type="registration_unroutable",
        source="matching",
        **changes,
    )


def message_count(amqp_uri, queue):
    with Connection(amqp_uri) as connection:
        return connection.channel().queue_declare(queue, passive=True)[1]


def run(capsys, *argv):
    """(exit code, stdout, stderr) of `flokk-dlq argv`, in this process."""
    code = dlq.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def listed(capsys, service="probe"):
    code, out, _ = run(capsys, "list", "--service", service, "--json")
    assert code == dlq.OK
    return {row["id"]: row for row in json.loads(out)}


def test_dead_letters_are_listed_shown_replayed_and_purged(probe, capsys):
    amqp_uri = probe
    failing, invalid, garbled = unroutable(), unroutable(occurred_at="2026-11-20T09:00:00Z"), b"\x00 not json"
    del invalid["data"]["reason"]
    STATE["failures_left"] = 3  # every attempt fails: dead-lettered after the third
    for body in (failing, invalid, garbled):
        publish(amqp_uri, "matching.events", "registration_unroutable", body)
    wait_until(lambda: message_count(amqp_uri, "probe.dead") == 3, timeout=30, what="three dead letters")
    other_subscriber = "notification.matching.registration_unroutable"
    assert message_count(amqp_uri, other_subscriber) == 3  # nobody consumes it in this test

    # list: service, id, event type, reason and age; reading leaves every message where it was
    rows = listed(capsys)
    assert message_count(amqp_uri, "probe.dead") == 3
    [garbled_id] = [key for key in rows if key.startswith("body-")]
    assert set(rows) == {failing["event_id"], invalid["event_id"], garbled_id}
    assert rows[failing["event_id"]]["reason"] == "handler failed after 3 attempt(s): ConnectionError: transient"
    assert rows[invalid["event_id"]]["reason"].startswith("registration_unroutable data breaks its contract")
    assert rows[invalid["event_id"]]["age_seconds"] >= 8 * 86400
    assert rows[garbled_id]["event_type"] == "registration_unroutable" and rows[garbled_id]["age_seconds"] is None
    assert all(row["service"] == "probe" for row in rows.values())
    code, table, _ = run(capsys, "list")
    assert code == dlq.OK and failing["event_id"] in table and "8d" in table
    assert listed(capsys, "notification") == {}

    # show: the envelope, values masked but ids and enums
    code, out, _ = run(capsys, "show", "probe", failing["event_id"])
    [shown] = [json.loads(out)]
    assert code == dlq.OK and shown["envelope"]["data"] == {"registration_id": "r-kari", "reason": dlq.MASK}
    assert shown["headers"]["x-flokk-original-queue"] == "probe.matching.registration_unroutable"
    assert shown["headers"]["x-flokk-attempt"] == 2
    code, out, _ = run(capsys, "show", "probe", garbled_id)
    assert code == dlq.OK and "not a JSON envelope" in out and "not json" not in out
    assert run(capsys, "show", "probe", "no-such-id")[0] == dlq.NOT_FOUND

    # replay: to the probe's own queue only, its attempt count reset (it may fail, and retry, again)
    STATE["failures_left"] = 1
    code, out, _ = run(capsys, "replay", "probe", failing["event_id"])
    assert code == dlq.OK and "probe.matching.registration_unroutable" in out
    wait_until(lambda: HANDLED == [failing["event_id"]], timeout=20, what="the replayed event handled")
    assert failing["event_id"] not in listed(capsys)
    assert message_count(amqp_uri, other_subscriber) == 3  # no second copy for anyone else
    assert run(capsys, "replay", "probe", failing["event_id"])[0] == dlq.NOT_FOUND

    # replay --all: what is still broken comes back, and the pass ends all the same
    code, out, err = run(capsys, "replay", "probe", "--all")
    assert code == dlq.OK and "2 dead letter(s)" in err
    wait_until(lambda: len(listed(capsys)) == 2, timeout=20, what="the broken two dead-lettered again")

    # purge: by age (an unknown age is never old), by id, and what is not there
    code, out, _ = run(capsys, "purge", "probe", "--older-than", "7", "--yes")
    assert code == dlq.OK and out == f"purged {invalid['event_id']}\n"
    assert run(capsys, "purge", "probe", "no-such-id", "--yes")[0] == dlq.NOT_FOUND
    assert run(capsys, "purge", "probe", garbled_id, "--yes")[0] == dlq.OK
    assert listed(capsys) == {} and message_count(amqp_uri, "probe.dead") == 0


def test_a_tool_that_dies_midway_loses_no_dead_letter(probe):
    amqp_uri = probe
    STATE["failures_left"] = 6
    for _ in range(2):
        publish(amqp_uri, "matching.events", "registration_unroutable", unroutable())
    wait_until(lambda: message_count(amqp_uri, "probe.dead") == 2, timeout=30, what="two dead letters")
    connection = Connection(amqp_uri)
    queue = dlq.DeadLetterQueue(connection, "probe")
    taken = list(queue.letters(clock.now()))
    assert len(taken) == 2 and message_count(amqp_uri, "probe.dead") == 0  # both taken, neither acked
    connection.collect()  # the socket goes, as when the process is killed: nothing acked, nothing closed
    wait_until(lambda: message_count(amqp_uri, "probe.dead") == 2, what="both back in the queue")


def test_the_console_script_and_its_exit_codes(probe):
    env = {**os.environ, "AMQP_URI": probe}
    flokk_dlq = str(Path(sys.executable).parent / "flokk-dlq")

    def exit_code(*argv, uri=probe):
        return subprocess.run(
            [flokk_dlq, *argv], env={**env, "AMQP_URI": uri}, capture_output=True, timeout=60, cwd=ROOT
        ).returncode

    assert exit_code("list", "--service", "notification", "--json") == 0
    assert exit_code("show", "notification", "no-such-id") == 1
    assert exit_code("purge", "notification", "--all") == 2  # no --yes
    assert exit_code("list", uri="amqp://guest:guest@127.0.0.1:1//") == 3  # no broker there
