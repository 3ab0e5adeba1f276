"""Norway's reference data (see data/SOURCES.md): municipalities, counties, postal codes.

Pure and read-only; loaded once per process. Postal codes of Svalbard (2100) and Jan Mayen (2211)
are not municipalities: they resolve to `municipality_number: None` with `area` set, explicitly.
"""

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
NON_MUNICIPAL_AREAS = {"2100": "svalbard", "2211": "jan_mayen"}


@dataclass(frozen=True)
class Municipality:
    number: str
    name: str
    county_number: str
    county_name: str
    population: int
    lat: float
    lon: float


@dataclass(frozen=True)
class PostalCode:
    code: str
    place: str
    municipality_number: str  # Posten's code; may be a non-municipal area (2100, 2211)
    lat: float | None
    lon: float | None


class UnknownPostalCode(LookupError):
    pass


class UnknownMunicipality(LookupError):
    pass


def _rows(name):
    with open(DATA_DIR / name, encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)


class ReferenceData:
    def __init__(self):
        self.municipalities = {
            row["municipality_number"]: Municipality(
                number=row["municipality_number"],
                name=row["name"],
                county_number=row["county_number"],
                county_name=row["county_name"],
                population=int(row["population_2024_01_01"]),
                lat=float(row["centroid_lat"]),
                lon=float(row["centroid_lon"]),
            )
            for row in _rows("municipalities.csv")
        }
        self.counties = {row["county_number"]: row["name"] for row in _rows("counties.csv")}
        points = {
            row["postal_code"]: (float(row["lat"]), float(row["lon"])) for row in _rows("postal_code_coordinates.csv")
        }
        self.postal_codes = {}
        for row in _rows("postal_codes.csv"):
            lat, lon = points.get(row["postal_code"], (None, None))
            self.postal_codes[row["postal_code"]] = PostalCode(
                code=row["postal_code"],
                place=row["postal_place_display"],
                municipality_number=row["municipality_number"],
                lat=lat,
                lon=lon,
            )

    def municipality(self, number):
        try:
            return self.municipalities[number]
        except KeyError:
            raise UnknownMunicipality(f"unknown municipality number {number!r}") from None

    def place_for_postal_code(self, code):
        """`{"municipality_number", "name", "county_number", "area"}` for a postal code."""
        try:
            postal = self.postal_codes[code]
        except KeyError:
            raise UnknownPostalCode(f"unknown postal code {code!r}") from None
        area = NON_MUNICIPAL_AREAS.get(postal.municipality_number)
        if area is not None:
            return {"municipality_number": None, "name": postal.place, "county_number": None, "area": area}
        municipality = self.municipality(postal.municipality_number)
        return {
            "municipality_number": municipality.number,
            "name": municipality.name,
            "county_number": municipality.county_number,
            "area": None,
        }

    def distance_km(self, number_a, number_b):
        a, b = self.municipality(number_a), self.municipality(number_b)
        return haversine_km(a.lat, a.lon, b.lat, b.lon)


def haversine_km(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


@lru_cache(maxsize=1)
def reference_data():
    return ReferenceData()
