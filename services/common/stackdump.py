"""On SIGUSR2, write the stack of every greenthread and OS thread of the process to stderr (the
service's log file): how to see where a worker hangs, which py-spy cannot show (it sees the OS
threads only, and every greenthread runs on the main one).

    kill -USR2 <pid of the service>

Code locations only: no local variables, so no personal data is written.
"""

import gc
import signal
import sys
import threading
import traceback

import greenlet

_installed = False


def dump(out=None):
    """Every greenthread's and thread's stack, as text."""
    out = out or sys.stderr
    parts = ["=== stack dump: greenthreads ==="]
    for candidate in gc.get_objects():
        if isinstance(candidate, greenlet.greenlet) and candidate and candidate.gr_frame is not None:
            parts.append(
                f"--- greenthread {getattr(candidate, '_flokk_name', None) or type(candidate).__name__} "
                f"{id(candidate):#x}"
            )
            parts.extend(line.rstrip("\n") for line in traceback.format_stack(candidate.gr_frame))
    parts.append("=== OS threads ===")
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    for ident, frame in sys._current_frames().items():
        parts.append(f"--- thread {names.get(ident, ident)}")
        parts.extend(line.rstrip("\n") for line in traceback.format_stack(frame))
    parts.append("=== end of stack dump ===")
    out.write("\n".join(parts) + "\n")
    out.flush()


def install(signum=signal.SIGUSR2):
    """Dump on `signum` (idempotent). Signals can be set only from the main OS thread (any
    greenthread of it); elsewhere this does nothing."""
    global _installed
    if _installed:
        return
    try:
        signal.signal(signum, lambda *_: dump())
    except ValueError:
        return
    _installed = True
