"""The vault: contact details sealed at rest, keys rotated without downtime, same-person digests."""

import pytest
from cryptography.fernet import Fernet, InvalidToken

from services.registration.vault import Vault, VaultMisconfigured

CONTACT = {"name": "Kari Nordmann", "email": "kari@example.no", "phone": "+4791234567", "free_text": "hemmelig"}


def test_sealed_contact_details_hold_no_plain_text_and_open_again():
    vault = Vault([Fernet.generate_key()], "lookup")
    token = vault.seal(CONTACT)
    assert all(value not in token for value in CONTACT.values())
    assert vault.open(token) == CONTACT


def test_a_new_key_first_still_opens_old_records_and_rotation_moves_them_to_the_new_key():
    old, new = Fernet.generate_key(), Fernet.generate_key()
    token = Vault([old], "lookup").seal(CONTACT)
    rotated_vault = Vault([new, old], "lookup")
    assert rotated_vault.open(token) == CONTACT and not rotated_vault.is_current(token)
    rotated = rotated_vault.rotate(token)
    assert rotated_vault.is_current(rotated)
    assert Vault([new], "lookup").open(rotated) == CONTACT  # the old key can now be dropped
    with pytest.raises(InvalidToken):
        Vault([new], "lookup").open(token)


def test_keys_come_from_the_environment_and_development_keys_only_in_test_or_demo_mode():
    key = Fernet.generate_key().decode()
    assert (
        Vault.from_settings({"FLOKK_CONTACT_KEYS": f"{key}, ", "FLOKK_LOOKUP_KEY": "k", "FLOKK_LINK_KEY": "l"}).open(
            Vault([key], "k").seal(CONTACT)
        )
        == CONTACT
    )
    assert Vault.from_settings({"FLOKK_MODE": "test"}).open(Vault.from_settings({"FLOKK_MODE": "demo"}).seal(CONTACT))
    for settings in (
        {},
        {"FLOKK_MODE": "production"},
        {"FLOKK_CONTACT_KEYS": key},
        {"FLOKK_CONTACT_KEYS": key, "FLOKK_LOOKUP_KEY": "k"},  # no link key
        {"FLOKK_CONTACT_KEYS": "not-a-key", "FLOKK_LOOKUP_KEY": "k", "FLOKK_LINK_KEY": "l"},
    ):
        with pytest.raises(VaultMisconfigured):
            Vault.from_settings(settings)


def test_same_person_digests_match_on_normalised_email_and_phone_and_depend_on_the_key():
    vault = Vault([Fernet.generate_key()], "lookup")
    a = vault.same_person_lookups({"email": " Kari@Example.NO", "phone": "+4791234567"})
    b = vault.same_person_lookups({"email": "kari@example.no"})
    assert a[0] == b[0] and len(a) == 2 and "kari" not in "".join(a)
    assert Vault([Fernet.generate_key()], "other").same_person_lookups({"email": "kari@example.no"}) != b
