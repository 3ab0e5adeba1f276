from services.directory import routing
from services.directory.reference import reference_data

CONTACT_POINTS = [
    {"contact_point_id": "link-bergen", "kind": "link_centre", "municipality_number": "4601",
     "municipalities": ["4601"], "digital_groups": True, "active": True},
    {"contact_point_id": "voss-frivillig", "kind": "volunteer_centre", "municipality_number": "4621",
     "municipalities": ["4621"], "digital_groups": False, "active": True},
    {"contact_point_id": "national-office", "kind": "national_office", "municipality_number": "0301",
     "municipalities": ["0301"], "active": True},
]


def route(number, **prefs):
    return routing.route(reference_data(), CONTACT_POINTS, number, **prefs)


def test_own_municipality_first():
    assert route("4601")[0]["contact_point_id"] == "link-bergen"
    assert route("4601")[0]["distance_km"] == 0.0


def test_a_municipality_without_a_contact_point_goes_to_the_nearest_in_the_county():
    candidates = route("4624")  # Bjørnafjorden: nearer Bergen than Voss
    assert [c["contact_point_id"] for c in candidates[:2]] == ["link-bergen", "voss-frivillig"]
    assert candidates[0]["distance_km"] < candidates[1]["distance_km"]


def test_not_in_own_municipality_is_honoured():
    ids = [c["contact_point_id"] for c in route("4601", not_in_own_municipality=True)]
    assert "link-bergen" not in ids and ids[0] == "voss-frivillig"


def test_a_county_with_none_falls_back_to_digital_then_national():
    candidates = route("0301", digital_ok=True)  # Oslo has only the national office here
    assert [c["kind"] for c in candidates] == ["digital", "national_office"]
    assert [c["kind"] for c in route("0301")] == ["national_office"]


def test_svalbard_is_not_a_municipality():
    place = reference_data().place_for_postal_code("9170")
    assert place["municipality_number"] is None and place["area"] == "svalbard"
    assert [c["kind"] for c in route(None, digital_ok=True)] == ["digital", "national_office"]
