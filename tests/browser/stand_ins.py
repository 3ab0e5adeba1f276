"""Stand-ins for services (schemathesis, and `make screenshots` before the real RPCs exist): they
answer every documented RPC of docs/rpc.md with the documented shapes (the canned answers of the
gateway's unit tests), so the staff and national pages can be shown before the real RPCs are merged."""

from services.common.rpc import rpc
from tests.fakes.gateway import ANSWERS


def stand_in(service_name, answers=None):
    """A nameko service named like the real one whose every RPC answers the canned value."""
    answers = ANSWERS[service_name] if answers is None else answers

    def answer(value):
        return rpc(lambda self, *args, **kwargs: value)

    namespace = {"name": service_name, **{name: answer(value) for name, value in answers.items()}}
    return type(f"{service_name.title()}StandIn", (), namespace)


MatchingStandIn = stand_in("matching")
NotificationStandIn = stand_in("notification")
RegistrationStandIn = stand_in("registration")
DirectoryStandIn = stand_in("directory")
