"""Every read of the current time in services/ goes through services/common/clock.py."""

import re
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "services"
WALL_CLOCK = re.compile(r"\b(datetime\.now|datetime\.utcnow|date\.today|time\.time|utc_now)\s*\(")
THE_CLOCK = SERVICES / "common" / "clock.py"


def wall_clock_reads():
    for path in sorted(SERVICES.rglob("*.py")):
        if path == THE_CLOCK:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if WALL_CLOCK.search(line):
                yield f"{path.relative_to(SERVICES.parent)}:{number}: {line.strip()}"


def test_nothing_in_services_reads_the_wall_clock_but_the_clock():
    assert list(wall_clock_reads()) == []


def test_the_guard_sees_a_read_of_the_wall_clock():
    assert WALL_CLOCK.search("    started = datetime.now(timezone.utc)")
    assert WALL_CLOCK.search("x = date.today ()")
    assert not WALL_CLOCK.search("elapsed = time.monotonic()")
