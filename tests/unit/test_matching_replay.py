"""The replay command (services/matching/replay.py): people fed through matching's production path
with simulated time. The online policy never breaks a rule and never places anyone twice; the
output is the same bytes whatever the hash seed; bad input is refused by line and field."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.matching import domain, engine, replay
from services.matching.ports import Settings

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 3, 2, 7, tzinfo=UTC)
ROUTE = {
    "contact_point_id": "cp-a",
    "kind": "contact_point",
    "municipality_number": "4601",
    "distance_km": 0.0,
    "reason": "serves Bergen",
}
SLOTS = [("tue", "evening"), ("wed", "evening"), ("thu", "morning")]
THEMES = ["grief", "anxiety", "loneliness"]


def a_line(n, at, themes=("grief",), slots=(("tue", "evening"),), mixed=False, year=None, acquaintances=()):
    return {
        "registration_id": f"p{n:03d}",
        "idempotency_key": f"k-{n}",
        "municipality_number": "4601",
        "area": None,
        "role": "self",
        "themes": list(themes),
        "languages": ["nb"],
        "availability": [{"weekday": d, "part_of_day": p} for d, p in slots],
        "open_to_mixed": mixed,
        "birth_year": year,
        "digital_ok": False,
        "not_in_own_municipality": False,
        "accessibility_needs": [],
        "cohort": None,
        "referred": False,
        "registered_at": at.isoformat().replace("+00:00", "Z"),
        "acquaintances": list(acquaintances),
        "route": dict(ROUTE),
    }


@st.composite
def arrivals(draw):
    """Up to 24 people arriving over up to 70 days in one pool, a few of them acquainted."""
    n = draw(st.integers(5, 24))
    offsets = sorted(draw(st.lists(st.integers(0, 70 * 24), min_size=n, max_size=n)))
    lines = [
        a_line(
            i,
            START + timedelta(hours=offsets[i]),
            themes=draw(st.lists(st.sampled_from(THEMES), min_size=1, max_size=2, unique=True)),
            slots=draw(st.lists(st.sampled_from(SLOTS), min_size=1, max_size=3, unique=True)),
            mixed=draw(st.booleans()),
            year=draw(st.one_of(st.none(), st.integers(1950, 2000))),
        )
        for i in range(n)
    ]
    for _ in range(draw(st.integers(0, 3))):
        a, b = draw(st.sampled_from(lines)), draw(st.sampled_from(lines))
        if a is not b and b["registration_id"] not in a["acquaintances"]:
            a["acquaintances"].append(b["registration_id"])
            b["acquaintances"].append(a["registration_id"])
    return lines, draw(st.sampled_from([{"min_size": 5, "max_size": 8}, {"min_size": 4, "max_size": 6}]))


def check_history(lines, sizes, result):
    """Every proposal keeps every rule when it is made; nobody is in two live proposals; a
    superseded proposal is closed before its replacements go out, and its people stay proposed."""
    by_id = {line["registration_id"]: line for line in lines}
    pairs = {frozenset((line["registration_id"], other)) for line in lines for other in line["acquaintances"]}
    group_of, live = {}, {}
    for envelope in result.events:
        data, at = envelope["data"], datetime.fromisoformat(envelope["occurred_at"])
        if envelope["event_type"] == "group_closed":
            assert data["reason"] == "superseded" and envelope["schema_version"] == 2
            del live[data["group_id"]]
            for rid in data["registration_ids"]:
                assert group_of.pop(rid) == data["group_id"]
        elif envelope["event_type"] == "group_proposed":
            members = data["registration_ids"]
            assert not any(rid in group_of for rid in members), "someone placed twice"
            check_group(by_id, pairs, sizes, data, at)
            live[data["group_id"]] = members
            group_of.update(dict.fromkeys(members, data["group_id"]))
        assert set(group_of) >= {rid for members in live.values() for rid in members}
    ever = {rid for e in result.events if e["event_type"] == "group_proposed" for rid in e["data"]["registration_ids"]}
    assert ever == set(group_of), "someone proposed went back to waiting"
    assert sorted(g["group_id"] for g in result.groups) == sorted(live)
    assert set(result.waiting) == set(by_id) - ever


def check_group(by_id, pairs, sizes, data, at):
    members = [by_id[rid] for rid in data["registration_ids"]]
    explanation = data["explanation"]
    slot = (explanation["slot"]["weekday"], explanation["slot"]["part_of_day"])
    waited = [(at - datetime.fromisoformat(m["registered_at"])).days for m in members]
    smallest = 4 if all(days >= engine.DEFAULT_WIDENING_DAYS["group_of_four"] for days in waited) else sizes["min_size"]
    assert min(smallest, sizes["min_size"]) <= len(members) <= sizes["max_size"]
    assert all({"weekday": slot[0], "part_of_day": slot[1]} in m["availability"] for m in members)
    if explanation["mixed"]:
        mixed_after = engine.DEFAULT_WIDENING_DAYS["mixed_themes"]
        assert all(m["open_to_mixed"] and days >= mixed_after for m, days in zip(members, waited, strict=True))
    else:
        assert all(explanation["theme"] in m["themes"] for m in members)
    ids = set(data["registration_ids"])
    assert not any(pair <= ids for pair in pairs), "acquaintances together"
    years = [m["birth_year"] for m in members if m["birth_year"] is not None]
    assert not years or max(years) - min(years) <= engine.AGE_SPAN_YEARS


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(arrivals())
def test_the_online_policy_never_breaks_a_rule_nor_places_anyone_twice(case):
    lines, sizes = case
    result = replay.run(lines, {"cp-a": sizes}, timedelta(hours=6))
    check_history(lines, sizes, result)
    assert replay.run(lines, {"cp-a": sizes}, timedelta(hours=6)).output() == result.output()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(arrivals())
def test_the_policy_before_it_replaces_nothing(case):
    lines, sizes = case
    result = replay.run(lines, {"cp-a": sizes}, timedelta(hours=6), Settings(online=False))
    check_history(lines, sizes, result)
    assert result.superseded == 0


def test_the_online_policy_tops_up_what_arrivals_alone_leave_at_five():
    lines = [a_line(n, START + timedelta(days=n)) for n in range(7)]
    before = replay.run(lines, {}, settings=Settings(online=False))
    after = replay.run(lines, {})
    assert [g["size"] for g in before.groups] == [5] and before.waiting == ["p005", "p006"]
    assert [g["size"] for g in after.groups] == [7] and after.waiting == [] and after.superseded == 2
    [group] = after.output()["groups"]
    assert set(group) == {
        "group_id",
        "contact_point_id",
        "registration_ids",
        "slot",
        "theme",
        "mixed",
        "size",
        "proposed_at",
    }
    assert (group["slot"], group["theme"], group["mixed"]) == (
        {"weekday": "tue", "part_of_day": "evening"},
        "grief",
        False,
    )
    # p005 is placed by the first sweep after its arrival (an hour at most); before, it waited to the end
    assert after.waited_days["p005"] <= 1 / 24 and before.waited_days["p005"] == 2.0
    assert after.output()["p90_wait_days"] == before.output()["p90_wait_days"] == 4.0  # p000, on both


def test_the_ninetieth_percentile_is_by_nearest_rank():
    assert replay.p90([]) == 0.0
    assert replay.p90([float(d) for d in range(1, 11)]) == 9.0
    assert replay.p90([0.5, 2.0]) == 2.0


def test_the_output_is_the_same_bytes_whatever_the_hash_seed(tmp_path):
    lines = [
        a_line(n, START + timedelta(hours=7 * n), themes=[THEMES[n % 3]], slots=SLOTS[: 1 + n % 3], mixed=n % 2 == 0)
        for n in range(40)
    ]
    lines[3]["acquaintances"], lines[9]["acquaintances"] = ["p009"], ["p003"]
    people = tmp_path / "people.jsonl"
    people.write_text("".join(json.dumps(line) + "\n" for line in lines))
    settings_file = tmp_path / "settings.json"
    settings_file.write_text(json.dumps({"cp-a": {"min_size": 4, "max_size": 6, "municipalities": ["4601"]}}))
    outputs = set()
    for seed in ("0", "1", "4242"):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "services.matching.replay",
                str(people),
                "--contact-point-settings",
                str(settings_file),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            timeout=300,
            check=True,
        )
        outputs.add(done.stdout)
        assert "re-solves:" in done.stderr and "CPU" in done.stderr
    [output] = outputs
    result = json.loads(output)
    assert set(result) == {"groups", "waiting", "p90_wait_days"} and result["groups"]
    keys = [(g["proposed_at"], g["group_id"]) for g in result["groups"]]
    assert keys == sorted(keys) and result["waiting"] == sorted(result["waiting"])


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda lines: lines[1].update(route={"contact_point_id": "cp-a"}), "line 2: route: must be an object"),
        (lambda lines: lines[1]["route"].update(kind="ferry"), "line 2: route.kind: must be one of"),
        (lambda lines: lines[1].update(acquaintances="p000"), "line 2: acquaintances: must be a list"),
        (lambda lines: lines[1].update(acquaintances=["nobody"]), "acquaintances: 'nobody' is not in the file"),
        (lambda lines: lines[1].update(registration_id="p000"), "line 2: registration_id: 'p000' appears twice"),
        (lambda lines: lines[1].update(registered_at="2026-03-01T00:00:00Z"), "line 2: registered_at: earlier"),
        (
            lambda lines: lines[1].update(registered_at="2026-03-03T00:00:00"),
            "line 2: registered_at: must say its time zone",
        ),
        (
            lambda lines: lines[1].update(themes=["gardening"]),
            "line 2: not a registration_created profile: themes.0: Must be one of",
        ),
        (lambda lines: lines[1].update(name="Kari"), "line 2: not a registration_created profile: name: Unknown field"),
    ],
)
def test_bad_input_is_refused_naming_the_line_and_the_field(change, message):
    lines = [a_line(0, START), a_line(1, START + timedelta(days=1))]
    change(lines)
    text = "".join(json.dumps(line) + "\n" for line in lines)
    with pytest.raises(replay.ReplayInputError) as refused:
        replay.run(replay.read_lines(text), {})
    assert message in str(refused.value)


@pytest.mark.parametrize(
    "settings_text, message",
    [
        ("[]", "must be a JSON object keyed by contact_point_id"),
        ('{"cp-a": {"min_size": 2}}', "cp-a.min_size: must be a whole number from 3 to 12"),
        ('{"cp-a": {"min_size": 7, "max_size": 6}}', "cp-a.min_size: must not be above max_size"),
        ('{"cp-a": {"municipalities": ["46"]}}', "cp-a.municipalities: must be a list of 4-digit"),
        ('{"cp-a": {"digital_groups": "yes"}}', "cp-a.digital_groups: must be true or false"),
        ('{"cp-a": {"colour": "red"}}', "cp-a: must be an object with some of"),
    ],
)
def test_contact_point_settings_are_checked_by_field(settings_text, message):
    with pytest.raises(replay.ReplayInputError, match=message):
        replay.read_contact_points(settings_text)


def test_the_command_says_what_is_wrong_and_exits_with_2(tmp_path, capsys):
    people = tmp_path / "people.jsonl"
    people.write_text("{not json}\n")
    assert replay.main([str(people)]) == 2
    assert "replay: line 1: not JSON" in capsys.readouterr().err


def test_a_replayed_person_is_seen_as_production_sees_them():
    line = a_line(0, START, mixed=True)
    entry = domain.waiting_entry({**line, "registered_at": START}, ROUTE, [ROUTE], START, engine.DEFAULT_WIDENING_DAYS)
    seen = domain.person(entry, entry["home_pool"], START + timedelta(days=20), engine.DEFAULT_WIDENING_DAYS)
    assert "mixed_themes" in seen.steps and seen.slots == frozenset({"tue:evening"})
