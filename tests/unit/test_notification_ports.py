"""notification's ports: each implementation (production's and the in-memory one the unit tests
use) offers every method of its port with the port's parameters, and the adapters over the other
services ask once per call and turn their NotFound into None."""

import inspect
from unittest.mock import Mock

import pytest
from nameko.exceptions import RemoteError

from services.common.actors import SELF
from services.common.cache import TtlCache
from services.common.clock import Clock, FixedClock
from services.notification import ports
from services.notification.mailer import SmtpMailer
from services.notification.remote import RemoteDirectory, RemoteGateway, RemoteRegistration
from services.notification.sms import SmsClient
from services.notification.store import NotificationStorage
from tests.fakes.notification import CONTACT_POINTS, FakeMailer, FakeNotificationStorage, FakeSms


def port_methods(port):
    return {
        name: function
        for cls in port.__mro__
        if cls.__module__ not in ("typing", "builtins")
        for name, function in vars(cls).items()
        if inspect.isfunction(function) and not name.startswith("_")
    }


def mismatches(port, implementation):
    """What `implementation` lacks of `port`: a method, or a parameter the port's callers pass."""
    found = []
    for name, method in port_methods(port).items():
        offered = getattr(implementation, name, None)
        if offered is None:
            found.append(f"{name}: missing")
            continue
        wanted = list(inspect.signature(method).parameters.values())[1:]
        given = list(inspect.signature(offered).parameters.values())[1:]
        extra = given[len(wanted) :]
        if [p.name for p in given[: len(wanted)]] != [p.name for p in wanted] or any(
            p.default is inspect.Parameter.empty for p in extra
        ):
            found.append(f"{name}{inspect.signature(offered)} is not {name}{inspect.signature(method)}")
    return found


@pytest.mark.parametrize(
    "port, implementations",
    [
        (ports.NotificationStore, [NotificationStorage, FakeNotificationStorage]),
        (ports.EmailChannel, [SmtpMailer, FakeMailer]),
        (ports.SmsChannel, [SmsClient, FakeSms]),
        (ports.Registration, [RemoteRegistration]),
        (ports.Directory, [RemoteDirectory]),
        (ports.Gateway, [RemoteGateway]),
        (Clock, [FixedClock]),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_every_implementation_offers_its_whole_port(port, implementations):
    assert port_methods(port)
    for implementation in implementations:
        assert mismatches(port, implementation) == [], implementation.__name__


def test_the_check_sees_a_missing_method_and_a_renamed_parameter():
    class Partial:
        def send(self, recipient, text, reference):
            pass

    assert mismatches(ports.SmsChannel, Partial) == [
        "send(self, recipient, text, reference) is not send(self, to: str, text: str, reference: str) -> None"
    ]
    assert mismatches(ports.Gateway, Partial) == ["referrer_contact: missing"]


def test_registration_says_none_for_an_erased_person_and_is_asked_once_per_call():
    proxy = Mock()
    proxy.contact_details.side_effect = lambda rid, actor: (
        {"registration_id": rid} if rid == "r1" else _raise(RemoteError("NotFound", f"no registration {rid}"))
    )
    registration = RemoteRegistration(proxy)
    assert registration.contact_details("r1") == {"registration_id": "r1"}
    assert registration.contact_details("r1") == {"registration_id": "r1"}
    assert registration.contact_details("r404") is None
    assert registration.contact_details("r404") is None
    assert proxy.contact_details.call_count == 2
    assert RemoteRegistration(proxy).contact_details("r1") == {"registration_id": "r1"}  # the next call asks anew
    assert proxy.contact_details.call_count == 3
    assert all(call.args[1] is SELF for call in proxy.contact_details.call_args_list)  # as notification itself


def test_any_other_remote_error_reaches_the_caller_and_is_not_remembered():
    proxy = Mock()
    proxy.referrer_contact.side_effect = [RemoteError("RpcTimeout", "no reply"), {"email": "gp@clinic.example.no"}]
    gateway = RemoteGateway(proxy)
    with pytest.raises(RemoteError):
        gateway.referrer_contact("ref-1")
    assert gateway.referrer_contact("ref-1") == {"email": "gp@clinic.example.no"}


def test_the_directory_answers_from_the_shared_cache_unless_asked_fresh():
    cache = TtlCache(30, clock=lambda: 0.0)  # time stands still: nothing expires
    proxy = Mock()
    proxy.get_contact_point.side_effect = lambda cp: dict(CONTACT_POINTS[cp])
    assert RemoteDirectory(proxy, cache).get_contact_point("link-bergen")["name"] == "LINK Bergen og omegn"
    assert RemoteDirectory(proxy, cache).get_contact_point("link-bergen")["name"] == "LINK Bergen og omegn"
    assert proxy.get_contact_point.call_count == 1  # the second call's copy came from the cache
    fresh = RemoteDirectory(proxy, cache)
    fresh.get_contact_point("link-bergen", fresh=True)
    fresh.get_contact_point("link-bergen", fresh=True)
    assert proxy.get_contact_point.call_count == 2  # fresh once per call, then remembered


def _raise(exc):
    raise exc
