"""services.common.actors: the signed actor of docs/rpc.md, signed and verified without a broker."""

import base64
import json
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.common import actors, clock
from services.common.actors import SELF, Actor, Signer, Verifier
from services.common.errors import Unauthenticated

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
STAFF = Actor(
    account_id="acc-1", role="contact_point_staff", contact_point_ids=["link-bergen"], referrer_id=None, purpose="pool"
)


@pytest.fixture
def now():
    with clock.use(clock.FixedClock(T0)) as fixed:
        yield fixed


def keys(*names):
    """(signers, verifier) with fresh keys, as production has them (no development keys)."""
    signers = {name: Signer(name, Ed25519PrivateKey.generate()) for name in names}
    text = json.dumps({name: actors.public_text(s.key) for name, s in signers.items()})
    return signers, Verifier.from_settings(text, development=False)


def refusal(verifier, token, aud):
    with pytest.raises(Unauthenticated) as refused:
        verifier.verify(token, aud)
    return str(refused.value)


def claims_of(token):
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_a_signed_actor_carries_the_claims_of_the_issue_and_verifies_for_its_one_method(now):
    signers, verifier = keys("gateway")
    token = signers["gateway"].sign({**STAFF, "request_id": "req-1"}, "registration.get_registration")
    assert claims_of(token) == {
        "iss": "gateway",
        "sub": "acc-1",
        "role": "contact_point_staff",
        "contact_point_ids": ["link-bergen"],
        "referrer_id": None,
        "registration_id": None,
        "purpose": "pool",
        "request_id": "req-1",
        "aud": "registration.get_registration",
        "iat": int(T0.timestamp()),
        "exp": int(T0.timestamp()) + 60,
    }
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": "EdDSA", "typ": "JWT", "kid": "gateway"}
    assert verifier.verify(token, "registration.get_registration") == {
        "role": "contact_point_staff",
        "account_id": "acc-1",
        "registration_id": None,
        "service": None,
        "contact_point_ids": ["link-bergen"],
        "referrer_id": None,
        "purpose": "pool",
        "request_id": "req-1",
        "issuer": "gateway",
    }


def test_missing_forged_expired_and_wrong_audience_are_refused_with_their_reason(now):
    signers, verifier = keys("gateway")
    token = signers["gateway"].sign(STAFF, "registration.get_registration")
    assert refusal(verifier, None, "registration.get_registration") == "missing"
    assert refusal(verifier, "", "registration.get_registration") == "missing"
    assert refusal(verifier, dict(STAFF), "registration.get_registration") == "malformed"  # a bare dict
    assert refusal(verifier, "a.b", "registration.get_registration") == "malformed"
    assert refusal(verifier, token, "registration.erase") == "wrong audience"
    impostor = Signer("gateway", Ed25519PrivateKey.generate())  # the right name, another key
    assert refusal(
        verifier, impostor.sign(STAFF, "registration.get_registration"), "registration.get_registration"
    ) == ("forged")
    header, _, signature = token.split(".")
    widened = actors._segment({**claims_of(token), "role": "national_admin"})
    assert refusal(verifier, f"{header}.{widened}.{signature}", "registration.get_registration") == "forged"
    now.advance(seconds=65)  # within the 5 s of leeway
    verifier.verify(token, "registration.get_registration")
    now.advance(seconds=1)
    assert refusal(verifier, token, "registration.get_registration") == "expired"


def test_an_actor_may_not_live_over_a_minute_nor_come_from_the_future(now):
    signers, verifier = keys("gateway")
    claims = signers["gateway"].claims(STAFF, "matching.pool")
    long_lived = signers["gateway"].sign_claims({**claims, "exp": claims["iat"] + 3600})
    assert refusal(verifier, long_lived, "matching.pool") == "malformed"
    ahead = signers["gateway"].sign_claims({**claims, "iat": claims["iat"] + 30, "exp": claims["iat"] + 90})
    assert refusal(verifier, ahead, "matching.pool") == "not yet valid"


def test_only_the_gateway_signs_people_a_service_only_itself_and_only_ops_signs_ops(now):
    signers, verifier = keys("gateway", "notification", "ops")
    admin = Actor(account_id="acc-0", role="national_admin")
    assert verifier.verify(signers["gateway"].sign(admin, "m.x"), "m.x")["role"] == "national_admin"
    assert refusal(verifier, signers["notification"].sign(admin, "m.x"), "m.x") == "issuer may not sign this role"
    assert refusal(verifier, signers["ops"].sign(admin, "m.x"), "m.x") == "issuer may not sign this role"
    itself = verifier.verify(
        signers["notification"].sign(SELF, "registration.contact_details"), "registration.contact_details"
    )
    assert (itself["role"], itself["service"], itself["issuer"]) == ("service", "notification", "notification")
    posing = signers["notification"].sign_claims(
        {**signers["notification"].claims(SELF, "m.x"), "sub": "gateway"}  # another service's identity
    )
    assert refusal(verifier, posing, "m.x") == "issuer may not sign this role"
    assert (
        verifier.verify(signers["ops"].sign(SELF, "directory.upsert_contact_point"), "directory.upsert_contact_point")[
            "role"
        ]
        == "ops"
    )
    assert (
        refusal(verifier, signers["gateway"].sign(Actor(role="ops"), "m.x"), "m.x") == "issuer may not sign this role"
    )
    assert (
        refusal(verifier, signers["gateway"].sign(Actor(role="root"), "m.x"), "m.x") == "issuer may not sign this role"
    )


def test_several_keys_per_name_while_a_key_is_rotated(now):
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    text = json.dumps({"gateway": [actors.public_text(old), actors.public_text(new)]})
    verifier = Verifier.from_settings(text, development=False)
    for key in (old, new):
        assert verifier.verify(Signer("gateway", key).sign(STAFF, "m.x"), "m.x")["account_id"] == "acc-1"
    retired = Verifier.from_settings(json.dumps({"gateway": actors.public_text(new)}), development=False)
    assert refusal(retired, Signer("gateway", old).sign(STAFF, "m.x"), "m.x") == "forged"


def test_development_keys_only_where_the_mode_allows_them(now):
    assert Signer.from_settings("gateway", None, development=True).key is not None
    with pytest.raises(ValueError, match="FLOKK_SIGNING_KEY is not set"):
        Signer.from_settings("gateway", None, development=False)
    with pytest.raises(ValueError, match="FLOKK_VERIFY_KEYS is not set"):
        Verifier.from_settings(None, development=False)
    token = Signer.from_settings("gateway", None, development=True).sign(STAFF, "m.x")
    assert Verifier.from_settings(None, development=True).verify(token, "m.x")["issuer"] == "gateway"
    real = Verifier.from_settings(json.dumps({"gateway": actors.public_text(Ed25519PrivateKey.generate())}), False)
    assert refusal(real, token, "m.x") == "forged"  # production never takes a development key


def test_keys_are_read_as_base64_or_pem_and_a_bad_one_is_named():
    key = Ed25519PrivateKey.generate()
    assert actors.public_text(Signer.from_settings("ops", actors.private_text(key), False).key) == actors.public_text(
        key
    )
    with pytest.raises(ValueError, match="32 bytes"):
        Signer.from_settings("ops", "c2hvcnQ=", False)
    with pytest.raises(ValueError, match="the key of 'gateway' is not usable"):
        Verifier.from_settings('{"gateway": "nope"}', False)
    with pytest.raises(ValueError, match="not JSON"):
        Verifier.from_settings("gateway=abc", False)


def test_a_proxy_signs_every_actor_among_the_arguments_and_nothing_else(now):
    signers, verifier = keys("gateway")
    args, kwargs = actors.sign_arguments(signers["gateway"], "matching.pool", ["link-bergen", STAFF], {"n": 1})
    assert args[0] == "link-bergen" and kwargs == {"n": 1}
    assert verifier.verify(args[1], "matching.pool")["account_id"] == "acc-1"
    _, kwargs = actors.sign_arguments(signers["gateway"], "matching.pool", [], {"actor": STAFF})
    assert verifier.verify(kwargs["actor"], "matching.pool")["role"] == "contact_point_staff"
    plain = dict(STAFF)  # not an Actor: sent as it is, and refused at the other end
    assert actors.sign_arguments(signers["gateway"], "matching.pool", [plain], {})[0] == [plain]
