"""Test only: the registration service with a crash injected between commit and publish.

Run as `nameko run tests.e2e.registration_with_faults` (scripts/services.sh --module
registration=tests.e2e.registration_with_faults). With FLOKK_FAULT_CRASH_BEFORE_PUBLISH set to an
event type, the process ends at once (`os._exit`, no cleanup, like a kill) the first time the outbox
is about to publish that event, with CRASH_LINE in its log: the transaction holding the state change
and the outbox entry has committed, the broker has seen nothing. Production code never imports this
module.
"""

import os

from services.common.store import Outbox
from services.registration.service import RegistrationService  # noqa: F401  (what nameko runs)

FAULT_VAR = "FLOKK_FAULT_CRASH_BEFORE_PUBLISH"
CRASH_EXIT_CODE = 70
#: Written to the service's log (stderr) just before the crash: the proof it was this crash.
CRASH_LINE = "crashing on purpose before publishing"

_publish = Outbox.publish


def _crash_before_publishing(self, record_id, entries):
    if any(entry["routing_key"] == os.environ.get(FAULT_VAR) for entry in entries):
        os.write(2, f"{CRASH_LINE} {os.environ[FAULT_VAR]}\n".encode())
        os._exit(CRASH_EXIT_CODE)
    return _publish(self, record_id, entries)


if os.environ.get(FAULT_VAR):
    Outbox.publish = _crash_before_publishing
