"""The signed-actor matrix (issue 17): every RPC of every service that takes an `actor` refuses a
missing, forged, expired and wrong-audience one, over the real broker, before anything else runs
(`Unauthenticated`, with that reason). The RPCs are found, not listed: a new method that takes an
actor is covered by this test the day it is written. A properly signed actor gets past the check."""

import inspect
import json
import logging

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nameko.exceptions import RemoteError
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.testing.utils import find_free_port

from services.common import clock
from services.common.actors import SELF, Actor, Signer
from services.common.rpc import ReplySafeRpc
from services.directory.service import DirectoryService
from services.gateway.service import GatewayService
from services.matching.service import MatchingService
from services.notification.service import NotificationService
from services.registration.service import RegistrationService
from tests.actors import GATEWAY, rpc_as, signer

SERVICES = (DirectoryService, RegistrationService, MatchingService, NotificationService, GatewayService)
STAFF = Actor(account_id="acc-1", role="contact_point_staff", contact_point_ids=["link-bergen"], purpose="matrix")


def rpcs_taking_an_actor():
    """(service, method, its parameters but self) of every @rpc whose signature names `actor`."""
    found = []
    for cls in SERVICES:
        for name, method in inspect.getmembers(cls, inspect.isfunction):
            entrypoints = getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, set())
            if not any(isinstance(e, ReplySafeRpc) for e in entrypoints):
                continue
            parameters = list(inspect.signature(method).parameters)[1:]
            if "actor" in parameters:
                found.append((cls.name, name, parameters))
    return found


MATRIX = rpcs_taking_an_actor()


def test_the_matrix_covers_every_rpc_that_acts_for_someone():
    names = {f"{service}.{method}" for service, method, _ in MATRIX}
    assert {
        "registration.get_registration",
        "registration.contact_details",
        "registration.register",
        "matching.confirm_group",
        "directory.upsert_contact_point",
        "directory.update_contact_point",
        "notification.deliveries",
        "gateway.referrer_contact",
    } <= names
    assert "directory.coverage" not in names and "registration.health" not in names


@pytest.fixture
def system(container_factory, service_config):
    config = {**service_config, "WEB_SERVER_ADDRESS": f"127.0.0.1:{find_free_port()}"}
    for cls in SERVICES:
        container_factory(cls, config).start()
    return config


def arguments(parameters, actor):
    """Placeholders for every argument (nothing may read them) and the actor in its place."""
    return [actor if name == "actor" else f"placeholder-{name}" for name in parameters]


def refusal(services, service, method, parameters, actor):
    with pytest.raises(RemoteError) as refused:
        getattr(getattr(services, service), method)(*arguments(parameters, actor))
    return refused.value.exc_type, refused.value.value


def test_every_rpc_that_takes_an_actor_refuses_a_missing_forged_expired_and_misaddressed_one(system, caplog):
    impostor = Signer(GATEWAY, Ed25519PrivateKey.generate())  # the gateway's name, not its key
    gateway = signer(GATEWAY)
    caplog.set_level(logging.WARNING, logger="services.common.rpc")
    results = {}
    with rpc_as(GATEWAY, system) as services:
        for service, method, parameters in MATRIX:
            aud = f"{service}.{method}"
            now = int(clock.now().timestamp())
            results[aud] = {
                "missing": refusal(services, service, method, parameters, None),
                "forged": refusal(services, service, method, parameters, impostor.sign(STAFF, aud)),
                "expired": refusal(
                    services,
                    service,
                    method,
                    parameters,
                    gateway.sign_claims({**gateway.claims(STAFF, aud), "iat": now - 120, "exp": now - 60}),
                ),
                "wrong audience": refusal(
                    services, service, method, parameters, gateway.sign(STAFF, "registration.some_other_method")
                ),
            }
    expected = {reason: ("Unauthenticated", reason) for reason in ("missing", "forged", "expired", "wrong audience")}
    wrong = {aud: got for aud, got in results.items() if got != expected}
    assert wrong == {}
    assert len(results) == len(MATRIX)
    refusals = [r for r in caplog.records if r.getMessage() == "actor refused"]
    assert len(refusals) == 4 * len(MATRIX)
    assert {r.reason for r in refusals} == set(expected)
    assert all(r.method in results for r in refusals)


def test_a_signed_actor_gets_past_the_check_to_the_methods_own_rules(system):
    with rpc_as(GATEWAY, system) as services:
        with pytest.raises(RemoteError) as not_found:
            services.registration.get_registration("reg-nobody", STAFF)
        assert not_found.value.exc_type == "NotFound"  # verified, then the method ran
        with pytest.raises(RemoteError) as refused:  # the gateway's staff view, not notification
            services.gateway.referrer_contact("ref-1", STAFF)
        assert refused.value.exc_type == "Forbidden"
    with rpc_as("notification", system) as services:
        with pytest.raises(RemoteError) as not_found:
            services.gateway.referrer_contact("ref-nobody", SELF)
        assert not_found.value.exc_type == "NotFound"
        with pytest.raises(RemoteError) as posing:  # a service may not sign a person
            services.registration.get_registration("reg-nobody", STAFF)
        assert (posing.value.exc_type, posing.value.value) == ("Unauthenticated", "issuer may not sign this role")


def test_an_outside_contact_details_call_is_refused(system):
    """A process on the broker without a key of the cluster, and a service that is not notification."""
    outsider = Signer("notification", Ed25519PrivateKey.generate())
    with rpc_as("matching", system) as services:
        with pytest.raises(RemoteError) as refused:
            services.registration.contact_details("reg-1", SELF)
        assert refused.value.exc_type == "Forbidden"
        token = outsider.sign(SELF, "registration.contact_details")
        with pytest.raises(RemoteError) as forged:
            services.registration.contact_details("reg-1", token)
        assert (forged.value.exc_type, forged.value.value) == ("Unauthenticated", "forged")
        with pytest.raises(RemoteError) as bare:
            services.registration.contact_details("reg-1", json.loads('{"role": "service", "service": "notification"}'))
        assert (bare.value.exc_type, bare.value.value) == ("Unauthenticated", "malformed")
