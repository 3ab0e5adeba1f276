"""matching's entrypoints with a fake of its own store; only the directory proxy is a mock."""
from nameko.testing.services import worker_factory

from services.matching.service import MatchingService
from tests.fakes import FakeStorageBase, an_event


class FakeMatchingStorage(FakeStorageBase):
    source = "matching"

    def __init__(self):
        super().__init__()
        self.pool, self.unroutable, self.contact_points = {}, {}, {}

    def put_waiting(self, uow, entry):
        self.pool[entry["_id"]] = entry

    def record_unroutable(self, uow, registration_id, reason, now):
        self.unroutable[registration_id] = reason

    def forget(self, uow, registration_id):
        self.pool.pop(registration_id, None)
        self.unroutable.pop(registration_id, None)

    def contact_point_revision(self, uow, contact_point_id):
        return self.contact_points.get(contact_point_id, {}).get("revision", 0)

    def save_contact_point(self, uow, data):
        self.contact_points[data["contact_point_id"]] = data


def profile(**changes):
    from datetime import datetime, timezone

    data = {"registration_id": "r1", "municipality_number": "4601", "area": None, "role": "self",
            "themes": ["grief"], "languages": ["nb", "en"], "availability": [{"weekday": "tue", "part_of_day": "evening"}],
            "open_to_mixed": True, "birth_year": None, "digital_ok": False, "not_in_own_municipality": False,
            "accessibility_needs": [], "cohort": None, "referred": False, "idempotency_key": "k1",
            "registered_at": datetime(2026, 11, 28, 9, tzinfo=timezone.utc)}
    data.update(changes)
    return data


def service_with(candidates):
    store = FakeMatchingStorage()
    service = worker_factory(MatchingService, store=store)
    service.directory.route.return_value = candidates
    return service, store


BERGEN = {"kind": "contact_point", "contact_point_id": "link-bergen", "municipality_number": "4601",
          "distance_km": 0.0, "reason": "serves Bergen"}
NATIONAL = {"kind": "national_office", "contact_point_id": "national-office", "municipality_number": None,
            "distance_km": None, "reason": "no local or digital contact point can take the person"}


def test_a_new_registration_waits_in_the_pool_of_its_contact_point_role_and_first_language():
    service, store = service_with([BERGEN, NATIONAL])
    service.handle_registration_created(an_event("registration", "registration_created", profile()))
    assert store.pool["r1"]["pool"] == "link-bergen|self|nb"
    assert store.emitted_types() == ["registration_waitlisted"]
    service.directory.route.assert_called_once_with("4601", {"not_in_own_municipality": False, "digital_ok": False})


def test_only_the_national_office_means_unroutable():
    service, store = service_with([NATIONAL])
    service.handle_registration_created(an_event("registration", "registration_created", profile()))
    assert "r1" in store.unroutable and not store.pool
    assert store.emitted_types() == ["registration_unroutable"]


def test_the_same_event_twice_is_applied_once():
    service, store = service_with([BERGEN, NATIONAL])
    event = an_event("registration", "registration_created", profile())
    service.handle_registration_created(event)
    service.handle_registration_created(event)
    assert store.emitted_types() == ["registration_waitlisted"]


def test_withdrawal_takes_the_person_out_of_the_pool():
    service, store = service_with([BERGEN, NATIONAL])
    service.handle_registration_created(an_event("registration", "registration_created", profile()))
    service.handle_registration_withdrawn(an_event("registration", "registration_withdrawn",
                                                   {"registration_id": "r1", "reason": "person"}))
    assert store.pool == {}


def test_a_stale_contact_point_revision_is_ignored():
    service, store = service_with([])
    base = {"contact_point_id": "cp", "kind": "link_centre", "name": "LINK", "county_number": "46",
            "municipalities": ["4601"], "digital_groups": False, "languages": ["nb"], "min_size": 5,
            "max_size": 8, "active": True}
    service.handle_contact_point_upserted(an_event("directory", "contact_point_upserted", {**base, "revision": 2}))
    service.handle_contact_point_upserted(an_event("directory", "contact_point_upserted",
                                                   {**base, "revision": 1, "active": False}))
    assert store.contact_points["cp"]["revision"] == 2 and store.contact_points["cp"]["active"] is True
