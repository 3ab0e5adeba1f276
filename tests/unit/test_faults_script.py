"""The helpers of scripts/faults.py that decide what a fault run reports and when it stops waiting."""

import argparse
import importlib.util
import json
import os
import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("faults_script", ROOT / "scripts" / "faults.py")
faults = importlib.util.module_from_spec(spec)
spec.loader.exec_module(faults)


class FakeStack:
    def __init__(self, run_dir, receipts=()):
        self.run_dir = run_dir
        self._receipts = list(receipts)

    def receipts(self):
        return self._receipts.pop(0) if len(self._receipts) > 1 else self._receipts[0]


def test_retries_are_counted_by_service_event_and_error_from_this_run_only(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    old = json.dumps({"msg": "handler failed, retrying", "event_type": "group_proposed", "error": "Old"}) + "\n"
    (logs / "notification.log").write_text(old)
    since = faults.log_sizes(FakeStack(tmp_path))
    with open(logs / "notification.log", "a") as log:
        for error in ("RpcTimeout", "RpcTimeout", "DeliveryPostponed"):
            log.write(
                json.dumps({"msg": "handler failed, retrying", "event_type": "registration_waitlisted", "error": error})
                + "\n"
            )
        log.write("not json, e.g. a stack dump line\n")
        log.write(json.dumps({"msg": "event dead-lettered", "event_type": "x"}) + "\n")
    assert faults.retries_logged(FakeStack(tmp_path), since) == {
        "notification: registration_waitlisted: DeliveryPostponed": 1,
        "notification: registration_waitlisted: RpcTimeout": 2,
    }


def test_the_drain_wait_ends_when_receipts_stop_coming(monkeypatch, tmp_path):
    clock = [0.0]
    monkeypatch.setattr(faults.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(faults.time, "sleep", lambda seconds: clock.__setitem__(0, clock[0] + seconds))
    stack = FakeStack(tmp_path, receipts=[{"a": 1}, {"a": 1, "b": 1}])  # then never "c"
    assert faults.wait_for_receipts(stack, {"a", "b", "c"}) is False
    assert faults.STALL_SECONDS < clock[0] < faults.STALL_SECONDS + 5


def test_the_drain_wait_ends_at_once_when_every_receipt_is_there(tmp_path):
    assert faults.wait_for_receipts(FakeStack(tmp_path, receipts=[{"a": 1, "b": 1}]), {"a", "b"}) is True


def test_a_signal_is_sent_only_to_a_process_that_catches_it():
    previous = signal.signal(signal.SIGUSR2, lambda *_: None)
    try:
        assert faults.catches(os.getpid(), signal.SIGUSR2)
    finally:
        signal.signal(signal.SIGUSR2, previous)
    assert faults.catches(os.getpid(), signal.SIGUSR2) == callable(previous)  # back as it was
    assert not faults.catches(2**22 + 12345, signal.SIGUSR2)  # no such process


@pytest.mark.parametrize("text", ["matching", "nobody:3", "matching:x"])
def test_a_kill_spec_names_a_service_and_a_count(text):
    with pytest.raises(argparse.ArgumentTypeError):
        faults.kill_spec(text)
    assert faults.kill_spec("matching:12") == ("matching", 12)


OUTAGE = {"node": 1, "killed_at": 100.0, "restarted_at": 130.0, "rejoined_at": 145.0}


def test_a_node_outage_is_measured_by_the_receipts_around_it():
    sent = {i: 90.0 + i for i in range(60)}  # one a second, from 90 to 149
    accepted = {i: t + 0.2 for i, t in sent.items()}
    accepted.update({10: 103.0, 11: 103.1})  # sent at 100 and 101, in flight at the kill: 3 s and 2.1 s
    for i in range(12, 14):
        accepted[i] = 103.2
    report = faults.interruption(OUTAGE, accepted, sent)
    assert report["node"] == 1 and report["down_s"] == 30.0 and report["rejoined_after_s"] == 45.0
    assert report["longest_receipt_gap_s"] == 3.8  # 99.2, the last before the kill, to 103.0
    assert report["receipts_while_down"] == 30  # from 103.0 to 129.2
    assert report["latency_s"] == {"registrations": 36, "p50": 0.2, "max": 3.0}  # sent from 95 to 130


def test_an_outage_with_no_receipt_until_the_node_came_back_shows_as_such():
    sent = {i: 90.0 + i for i in range(60)}
    accepted = {i: max(t + 0.2, 146.0) if t >= 99 else t + 0.2 for i, t in sent.items()}
    report = faults.interruption(OUTAGE, accepted, sent)
    assert report["receipts_while_down"] == 0
    assert report["longest_receipt_gap_s"] == 47.8  # 98.2 to 146.0
    assert report["latency_s"]["max"] == 47.0  # sent at 99


@pytest.mark.parametrize(
    ("options", "path"),
    [
        ([], "docs/bench/faults.json"),
        (["--quick"], ".run/faults-quick.json"),
        (["--cluster"], "docs/bench/faults-cluster.json"),
        (["--cluster", "--quick"], ".run/faults-cluster-quick.json"),
        (["--kill", "matching:3"], ".run/faults-kill.json"),
    ],
)
def test_each_kind_of_run_reports_to_its_own_file(options, path):
    parser = argparse.ArgumentParser()
    for flag in ("--quick", "--cluster"):
        parser.add_argument(flag, action="store_true")
    parser.add_argument("--kill", type=faults.kill_spec)
    assert faults.report_path(parser.parse_args(options)) == path


@pytest.mark.parametrize(
    ("receipts_while_down", "gap", "failed"),
    [
        (75, 1.1, None),
        (0, 31.0, "no receipt at all"),
        (1, 105.0, "no receipt for 105 s"),
        (40, 15.0, "no receipt for 15 s"),
    ],
)
def test_a_node_outage_fails_the_run_when_processing_stopped(receipts_while_down, gap, failed):
    outage = {"node": 2, "down_s": 30.0, "receipts_while_down": receipts_while_down, "longest_receipt_gap_s": gap}
    found = faults.outage_failures(outage)
    assert (found == []) if failed is None else (len(found) == 1 and failed in found[0])


def test_the_drain_wait_also_waits_for_messages_still_to_send(monkeypatch, tmp_path):
    clock = [0.0]
    monkeypatch.setattr(faults.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(faults.time, "sleep", lambda seconds: clock.__setitem__(0, clock[0] + seconds))
    left = iter([3, 3, 2, 1])  # then 0: staff mail going out after every receipt is there
    stack = FakeStack(tmp_path, receipts=[{"a": 1}])
    assert faults.wait_for_receipts(stack, {"a"}, unsent=lambda: next(left, 0)) is True
    assert clock[0] == 4
    stuck = FakeStack(tmp_path, receipts=[{"a": 1}])
    assert faults.wait_for_receipts(stuck, {"a"}, limit=1300, stall=700, unsent=lambda: 1) is False
    assert 700 < clock[0] - 4 < 705  # a long outage's drain waits out the retry schedule's step


@pytest.mark.parametrize(("outage", "waits"), [(5, 25 + 10), (600, 600 + 10), (601, 599 + 10)])
def test_after_an_smtp_outage_the_schedules_next_retry_is_waited_for(outage, waits):
    # a message that failed at the outage's start is next tried at the first step past its length
    assert faults.wait_after_recovery(outage) == waits


def test_the_mail_held_up_by_an_smtp_outage_is_measured_from_its_end():
    back = datetime(2026, 12, 2, 11, 40, tzinfo=UTC)
    moments = {"down_at": back.timestamp() - 600, "back_at": back.timestamp(), "held": ["m1", "m2", "m3"]}
    held = [
        {"_id": "m1", "status": "sent", "channel": "email", "at": datetime(2026, 12, 2, 11, 41)},  # naive UTC
        {"_id": "m2", "status": "sent", "channel": "email", "at": datetime(2026, 12, 2, 11, 49, 30)},
        {"_id": "m3", "status": "retrying", "channel": "email", "at": datetime(2026, 12, 2, 11, 35)},
    ]
    t = back.timestamp()
    sent = {0: t - 700, 1: t - 550, 2: t - 50, 3: t + 10}
    accepted = {0: t - 699.5, 1: t + 550, 2: t + 31, 3: t + 11}
    report = faults.mail_after_outage(moments, accepted, sent, held)
    assert report == {
        "down_s": 600.0,
        "held_messages": 3,
        "held_messages_sent_by_email": 2,
        "last_held_message_sent_after_it_was_back_s": 570.0,
        "receipts_of_registrations_sent_before_it_was_back": 3,
        "of_them_arrived_after_it_was_back": 2,
        "last_arrived_after_it_was_back_s": 550.0,
    }
    assert faults.held_mail_failures(report, waits=610) == [
        "1 of the 3 messages held up by the SMTP outage were not sent by e-mail"
    ]
    late = faults.held_mail_failures({**report, "held_messages_sent_by_email": 3}, waits=35)
    assert late == [
        "the last message held up by the SMTP outage went out 570 s after the server was back "
        "(the retry schedule's next step: 35 s)"
    ]
    assert faults.mail_after_outage({}, accepted, sent, []) is None
    assert faults.held_mail_failures(None, waits=0) == []


def test_every_message_must_have_gone_by_email():
    assert faults.delivery_failures({"participant email sent": 50, "staff email sent": 4}, 0) == []
    found = faults.delivery_failures(
        {"participant email sent": 48, "participant sms sent": 1, "staff email retrying": 1}, 1
    )
    assert found == [
        "messages not sent by e-mail: {'participant sms sent': 1, 'staff email retrying': 1}",
        "1 SMS sent, though every registration chose e-mail",
    ]


def test_the_fault_runs_registrations_give_a_mobile_number_and_choose_email():
    from bench.stack import Intake
    from services.common.contracts import RegistrationRequested

    for index in (0, 7, 12345):
        data = Intake("amqp://unused", "run1", phone=True).envelope(index)["data"]
        assert RegistrationRequested().validate(data) == {}
        assert data["preferred_channel"] == "email" and data["phone"].startswith("+479")
    assert "phone" not in Intake("amqp://unused", "run1").envelope(0)["data"]  # the benchmark's, as before
