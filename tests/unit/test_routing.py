from services.directory import routing
from services.directory.reference import reference_data

CONTACT_POINTS = [
    {
        "contact_point_id": "link-bergen",
        "kind": "link_centre",
        "municipality_number": "4601",
        "municipalities": ["4601"],
        "digital_groups": True,
        "active": True,
    },
    {
        "contact_point_id": "voss-frivillig",
        "kind": "volunteer_centre",
        "municipality_number": "4621",
        "municipalities": ["4621"],
        "digital_groups": False,
        "active": True,
    },
    {
        "contact_point_id": "national-office",
        "kind": "national_office",
        "municipality_number": "0301",
        "municipalities": ["0301"],
        "active": True,
    },
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


# --- on the example directory: real municipalities, real distances ------------------------------


def example_route(number, **prefs):
    from services.directory.example import example_contact_points

    return routing.route(reference_data(), example_contact_points(), number, **prefs)


def summary(candidates):
    return [(c["kind"], c["contact_point_id"]) for c in candidates]


def test_a_municipality_served_from_its_neighbour_goes_there_with_the_real_distance():
    first = example_route("4627")[0]  # Askøy, served by LINK Bergen og omegn
    assert (first["contact_point_id"], first["reason"]) == ("link-bergen", "serves Askøy")
    assert 10 < first["distance_km"] < 30


def test_hamar_and_ringsaker_without_a_contact_point_go_to_stangehjelpa_in_the_county():
    for number in ("3403", "3411"):  # Hamar, Ringsaker (Innlandet)
        candidates = example_route(number)
        assert summary(candidates) == [("contact_point", "stangehjelpa"), ("national_office", "national-office")]
        assert candidates[0]["reason"].startswith("nearest in Innlandet: no contact point in ")
    assert example_route("3403")[0]["distance_km"] < example_route("3411")[0]["distance_km"]


def test_voss_goes_to_bergen_the_nearest_in_vestland():
    candidates = example_route("4621")
    assert candidates[0]["contact_point_id"] == "link-bergen" and 50 < candidates[0]["distance_km"] < 90


def test_the_nearest_in_the_county_wins_over_a_farther_one():
    # Nordland has only Bodø's district office; Troms only Tromsø's: Narvik (1806) is in Nordland
    assert example_route("1806")[0]["contact_point_id"] == "distriktskontor-nordland"
    # Agder: Kristiansand's district office for Arendal (4203)
    assert example_route("4203")[0]["contact_point_id"] == "distriktskontor-sor"


def test_not_in_own_municipality_in_oslo_skips_link_oslo_and_falls_back_to_digital_then_national():
    assert summary(example_route("0301", not_in_own_municipality=True)) == [("national_office", "national-office")]
    candidates = example_route("0301", not_in_own_municipality=True, digital_ok=True)
    ids = [c["contact_point_id"] for c in candidates]
    assert "link-oslo" not in ids and candidates[-1]["kind"] == "national_office"
    assert {c["kind"] for c in candidates[:-1]} == {"digital"}
    assert [c["distance_km"] for c in candidates[:-1]] == sorted(c["distance_km"] for c in candidates[:-1])


def test_bergen_not_in_own_municipality_leaves_vestland_without_a_local_choice():
    ids = [c["contact_point_id"] for c in example_route("4601", not_in_own_municipality=True, digital_ok=True)]
    assert "link-bergen" not in ids and ids[0] == "distriktskontor-vest"  # Stavanger is nearest by centroid


def test_finnmark_has_none_so_alta_gets_digital_from_the_nearest_then_national():
    candidates = example_route("5601", digital_ok=True)  # Alta
    assert candidates[0]["kind"] == "digital" and candidates[0]["contact_point_id"] == "distriktskontor-nord"
    assert candidates[-1]["kind"] == "national_office"
    assert summary(example_route("5601")) == [("national_office", "national-office")]


def test_an_inactive_contact_point_is_never_a_candidate():
    from services.directory.example import example_contact_points

    contact_points = [{**cp, "active": cp["contact_point_id"] != "stangehjelpa"} for cp in example_contact_points()]
    assert summary(routing.route(reference_data(), contact_points, "3413")) == [("national_office", "national-office")]


def test_svalbard_and_jan_mayen_postal_codes_have_no_municipality():
    reference = reference_data()
    svalbard = [code for code, postal in reference.postal_codes.items() if postal.municipality_number == "2100"]
    assert len(svalbard) == 7
    assert {reference.place_for_postal_code(code)["area"] for code in svalbard} == {"svalbard"}
    jan_mayen = reference.place_for_postal_code("8099")
    assert jan_mayen == {
        "municipality_number": None,
        "name": jan_mayen["name"],
        "county_number": None,
        "area": "jan_mayen",
    }
    assert summary(example_route(None))[-1] == ("national_office", "national-office")
    assert {c["kind"] for c in example_route(None, digital_ok=True)[:-1]} == {"digital"}


def test_an_unknown_postal_code_or_municipality_is_an_error_not_a_guess():
    import pytest

    from services.directory.reference import UnknownMunicipality, UnknownPostalCode

    with pytest.raises(UnknownPostalCode):
        reference_data().place_for_postal_code("0000")
    with pytest.raises(UnknownMunicipality):
        example_route("2100")  # Svalbard's code is not a municipality
