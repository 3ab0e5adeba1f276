"""Polling with a deadline: for outcomes that no entrypoint_waiter can see (queues, mailboxes)."""

import time


def wait_until(probe, timeout=15.0, interval=0.05, what="the condition"):
    """Call `probe` until it returns something truthy; return that, or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
