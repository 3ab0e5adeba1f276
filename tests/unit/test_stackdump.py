"""The SIGUSR2 stack dump shows where a greenthread waits (what py-spy cannot show)."""

import io
import os
import signal

import eventlet

from services.common import stackdump


def waits_for_a_reply_that_never_comes(event):
    event.wait()


def test_dump_shows_the_line_where_a_greenthread_waits():
    event = eventlet.event.Event()
    waiting = eventlet.spawn(waits_for_a_reply_that_never_comes, event)
    eventlet.sleep(0)  # let it reach the wait
    out = io.StringIO()
    try:
        stackdump.dump(out)
    finally:
        event.send(None)
        waiting.wait()
    text = out.getvalue()
    assert "waits_for_a_reply_that_never_comes" in text
    assert text.index("=== stack dump: greenthreads ===") < text.index("waits_for_a_reply_that_never_comes")


def test_sigusr2_writes_the_dump_to_stderr(capfd):
    previous = signal.getsignal(signal.SIGUSR2)
    stackdump._installed = False
    try:
        stackdump.install()
        os.kill(os.getpid(), signal.SIGUSR2)
        eventlet.sleep(0)
        assert "=== end of stack dump ===" in capfd.readouterr().err
    finally:
        signal.signal(signal.SIGUSR2, previous)
        stackdump._installed = False
