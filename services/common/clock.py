"""The one clock of Flokk: every read of the current time in `services/` goes through here.

Production reads the system clock. Tests replace it (`use`) with a clock they set, so no test
depends on the day it runs; a unit test fails on any other read of the wall clock in `services/`.
Monotonic time (durations, deadlines, TTLs) is not the wall clock and stays `time.monotonic`.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

OSLO = ZoneInfo("Europe/Oslo")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until moved: for tests and for replays with simulated time."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> datetime:
        self.moment = self.moment + timedelta(**delta)
        return self.moment


class AnchoredClock:
    """Time that runs at the normal pace from a fixed starting moment, whatever the date is: for
    tests that run real services in-process, where leases and grace periods must still pass."""

    def __init__(self, anchor: datetime) -> None:
        self.anchor = anchor
        self.started = time.monotonic()

    def now(self) -> datetime:
        return self.anchor + timedelta(seconds=time.monotonic() - self.started)


_current: Clock = SystemClock()


def now() -> datetime:
    """The current moment in UTC."""
    return _current.now().astimezone(UTC)


def today_in_oslo() -> date:
    """Today's date where the people are (the age rule, digests, reminders)."""
    return _current.now().astimezone(OSLO).date()


def current() -> Clock:
    return _current


def set_clock(clock: Clock) -> Clock:
    """Replace the clock for the whole process; returns the one it replaced."""
    global _current
    previous, _current = _current, clock
    return previous


@contextmanager
def use(clock: Clock) -> Iterator[Clock]:
    """`with clock.use(FixedClock(...)):` the process reads that clock until the block ends."""
    previous = set_clock(clock)
    try:
        yield clock
    finally:
        set_clock(previous)


class CurrentClock:
    """What a service's `clock` dependency hands its workers: the process's clock, read late, so a
    test that swaps the clock after the container started is still obeyed."""

    def now(self) -> datetime:
        return now()


CURRENT = CurrentClock()
