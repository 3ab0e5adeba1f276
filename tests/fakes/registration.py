"""In-memory implementations of registration's ports (services/registration/ports.py): its store,
with the real vault, and the directory's answers on places."""

import copy

from cryptography.fernet import Fernet

from services.common import clock
from services.registration.domain import APPLIED_HERE, LAST_ACTIVITY, stamped
from services.registration.ports import KeyTaken, UnknownContactPoint, UnknownMunicipality, UnknownPostalCode
from services.registration.vault import Vault
from tests.fakes import FakeStorageBase

LOOKUP_KEY = "unit-test-lookup-key"
LINK_KEY = "unit-test-link-key"
BERGEN_PLACE = {"municipality_number": "4601", "name": "Bergen", "county_number": "46", "area": None}


class FakeRegistrationStorage(FakeStorageBase):
    source = "registration"

    def __init__(self):
        super().__init__()
        self.vault = Vault([Fernet.generate_key()], LOOKUP_KEY, LINK_KEY)
        self.retention_days = 365
        self.registrations, self.contacts, self.erased_keys, self.tallies = {}, {}, set(), {}
        self.audit_log, self.attempts, self.cohorts = [], [], {}
        self.contact_reads = []

    def by_idempotency_key(self, key, uow=None):
        return next((copy.deepcopy(r) for r in self.registrations.values() if r["idempotency_key"] == key), None)

    def get(self, registration_id, uow=None):
        return copy.deepcopy(self.registrations.get(registration_id))

    def follow(self, event_id, registration_id, changes_for, likely=None):  # the outcome never depends on `likely`
        current = self.registrations.get(registration_id)
        if current is None or event_id in current.get(APPLIED_HERE, ()):
            return None
        changes = changes_for(copy.deepcopy(current))
        if not changes:
            return None
        current.update(stamped(changes, clock.now()))
        current.setdefault(APPLIED_HERE, []).append(event_id)
        return changes

    def contact(self, registration_id):
        sealed = self.contacts.get(registration_id)
        return self.vault.open(sealed) if sealed else None

    def record_contact_read(self, entry):
        self.contact_reads.append(dict(entry))

    def add(self, uow, registration, contact):
        if any(r["idempotency_key"] == registration["idempotency_key"] for r in self.registrations.values()):
            raise KeyTaken()  # the unique index on the key
        same = [
            rid
            for rid, r in self.registrations.items()
            if set(r["same_person_lookups"]) & set(registration["same_person_lookups"])
        ]
        registration = {**registration, "possible_duplicates": same}
        self.registrations[registration["_id"]] = registration
        self.contacts[registration["_id"]] = self.vault.seal(contact)
        for rid in same:
            self.registrations[rid]["possible_duplicates"].append(registration["_id"])
        self._count("registered")
        return registration

    def update(self, uow, registration_id, changes):
        self.registrations[registration_id].update(stamped(changes, clock.now()))

    def update_all(self, uow, registration_ids, changes):
        for registration_id in registration_ids:
            self.update(uow, registration_id, changes)

    def note_activity(self, registration_id, at):
        self.registrations[registration_id][LAST_ACTIVITY] = at

    def erase(self, uow, registration, reason):
        rid = registration["_id"]
        self.registrations.pop(rid)
        self.contacts.pop(rid)
        for other in self.registrations.values():
            other["possible_duplicates"] = [d for d in other["possible_duplicates"] if d != rid]
            other["avoid_flagged"] = [d for d in other.get("avoid_flagged", []) if d != rid]
        for entry in self.audit_log:
            if entry["registration_id"] == rid:
                entry["registration_id"] = None
        self.erased_keys.add(self.vault.key_digest(registration["idempotency_key"]))
        self._count(f"erased_{reason}")
        return 1

    def key_was_erased(self, key):
        return self.vault.key_digest(key) in self.erased_keys

    def by_id_prefix(self, prefix, limit=20):
        return [self.registrations[rid] for rid in sorted(self.registrations) if rid.startswith(prefix)][:limit]

    def by_referrer(self, referrer_id):
        return [r for r in self.registrations.values() if (r["referral"] or {}).get("referrer_id") == referrer_id]

    def inactive_since(self, statuses, reasons, cutoff, limit=100):
        return [
            {"_id": rid}
            for rid, r in self.registrations.items()
            if (r["status"] in statuses or r.get("retention_reason") in reasons)
            and (r.get(LAST_ACTIVITY) or r["updated_at"]) < cutoff
        ][:limit]

    def rotate_contacts(self):
        rotated = 0
        for rid, sealed in self.contacts.items():
            if not self.vault.is_current(sealed):
                self.contacts[rid] = self.vault.rotate(sealed)
                rotated += 1
        return rotated

    def counts(self):
        return dict(self.tallies)

    def by_ids(self, registration_ids, uow=None):
        return [copy.deepcopy(self.registrations[rid]) for rid in registration_ids if rid in self.registrations]

    def with_lookups(self, digests, uow=None):
        wanted = set(digests)
        return [copy.deepcopy(r) for r in self.registrations.values() if wanted & set(r["same_person_lookups"])]

    def avoiding(self, digests, uow=None):
        wanted = set(digests)
        return [copy.deepcopy(r) for r in self.registrations.values() if wanted & set(r.get("avoid_digests") or [])]

    def add_avoid_flag(self, uow, registration_id, other_id):
        flagged = self.registrations[registration_id].setdefault("avoid_flagged", [])
        if other_id not in flagged:
            flagged.append(other_id)

    def due_pauses(self, now, limit=100):
        return [
            {"_id": rid}
            for rid, r in self.registrations.items()
            if r["status"] == "paused" and r["paused_until"] <= now
        ][:limit]

    def audit(self, entry):
        self.audit_log.append(dict(entry))

    def count_attempts(self, kind, key, since):
        return sum(1 for k, c, at in self.attempts if (k, c) == (kind, key) and at >= since)

    def record_attempt(self, kind, key, at):
        self.attempts.append((kind, key, at))

    def add_cohort(self, uow, cohort):
        if any(c["code"] == cohort["code"] for c in self.cohorts.values()):
            raise KeyError("code taken")  # the unique index on the code
        self.cohorts[cohort["_id"]] = copy.deepcopy(cohort)

    def cohort(self, cohort_id):
        return copy.deepcopy(self.cohorts.get(cohort_id))

    def cohort_with_code(self, code):
        return next((copy.deepcopy(c) for c in self.cohorts.values() if c["code"] == code), None)

    def cohorts_of(self, referrer_id):
        return [copy.deepcopy(c) for c in self.cohorts.values() if c["created_by"] == referrer_id]

    def registered_in_cohort(self, cohort_id):
        return sum(1 for r in self.registrations.values() if (r.get("cohort") or {}).get("cohort_id") == cohort_id)

    def _count(self, name):
        self.tallies[name] = self.tallies.get(name, 0) + 1


class FakeDirectory:
    """The directory's places: postal code -> place, municipality number -> municipality; and
    its contact points by id."""

    def __init__(self, postal_codes=None, contact_points=None):
        self.postal_codes = {"5003": BERGEN_PLACE} if postal_codes is None else postal_codes
        self.contact_points = {"link-bergen": {"contact_point_id": "link-bergen", "active": True}}
        self.contact_points.update(contact_points or {})

    def contact_point(self, contact_point_id):
        if contact_point_id not in self.contact_points:
            raise UnknownContactPoint(contact_point_id)
        return copy.deepcopy(self.contact_points[contact_point_id])

    def municipality_for_postal_code(self, postal_code):
        if postal_code not in self.postal_codes:
            raise UnknownPostalCode(postal_code)
        return copy.deepcopy(self.postal_codes[postal_code])

    def municipality(self, municipality_number):
        for place in self.postal_codes.values():
            if place["municipality_number"] == municipality_number:
                return {key: value for key, value in place.items() if key != "area"}
        raise UnknownMunicipality(municipality_number)
