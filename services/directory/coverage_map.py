"""The coverage map: an SVG choropleth of Norway's 357 municipalities, coloured by coverage.

Pure. The boundaries are Kartverket's (simplified, WGS84 lon/lat, data/SOURCES.md), drawn in a
transverse Mercator projection centred on 15°E (the meridian of UTM zone 33, Norway's national
map projection), so the country keeps its familiar shape.
"""

import json
import math
from functools import lru_cache
from xml.sax.saxutils import escape

from .reference import DATA_DIR

BOUNDARIES = DATA_DIR / "municipality_boundaries_simplified.geojson"
CENTRAL_MERIDIAN = math.radians(15.0)
WIDTH, MARGIN = 640, 16
COLOURS = {"covered": "#2f7d4f", "uncovered": "#dcdfe3"}
ATTRIBUTION = "© Kartverket"
#: The map's words; a caller (the gateway, in the page's language) may give its own. `headline`
#: takes {covered}, {total} and {share} (per cent of the population, one decimal).
LABELS = {
    "title": "Flokk coverage map",
    "heading": "Self-help contact points",
    "headline": "{covered} of {total} municipalities, {share} % of the population (2024)",
    "covered": "Has a contact point",
    "uncovered": "No contact point",
    "nobody": "no contact point",
    "sources": "population: Kilde: Statistisk sentralbyrå",
    "decimal_comma": False,
}


@lru_cache(maxsize=1)
def boundaries():
    """municipality number -> list of polygons, each a list of rings of (lon, lat)."""
    with open(BOUNDARIES, encoding="utf-8") as handle:
        features = json.load(handle)["features"]
    shapes = {}
    for feature in features:
        geometry = feature["geometry"]
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        shapes[feature["properties"]["kommunenummer"]] = polygons
    return shapes


def project(lon, lat):
    """Spherical transverse Mercator around 15°E; y grows northwards."""
    phi, dlam = math.radians(lat), math.radians(lon) - CENTRAL_MERIDIAN
    b = math.cos(phi) * math.sin(dlam)
    return math.atanh(b), math.atan2(math.tan(phi), math.cos(dlam))


@lru_cache(maxsize=1)
def _projected():
    """Projected rings scaled to the SVG's pixels, and the SVG's height."""
    raw = {
        number: [[[project(lon, lat) for lon, lat in ring] for ring in polygon] for polygon in polygons]
        for number, polygons in boundaries().items()
    }
    xs = [x for polygons in raw.values() for polygon in polygons for ring in polygon for x, _ in ring]
    ys = [y for polygons in raw.values() for polygon in polygons for ring in polygon for _, y in ring]
    left, top = min(xs), max(ys)
    scale = (WIDTH - 2 * MARGIN) / (max(xs) - left)
    height = round((top - min(ys)) * scale + 2 * MARGIN)

    def pixel(x, y):
        return (x - left) * scale + MARGIN, (top - y) * scale + MARGIN

    paths = {
        number: " ".join(_ring_path([pixel(x, y) for x, y in ring]) for polygon in polygons for ring in polygon)
        for number, polygons in raw.items()
    }
    return paths, height


def _ring_path(points):
    head, *rest = points
    return f"M{head[0]:.1f},{head[1]:.1f}" + "".join(f"L{x:.1f},{y:.1f}" for x, y in rest) + "Z"


def render(coverage_report, contact_point_names, labels=None):
    """The SVG text. `coverage_report` is `coverage.coverage(...)`; names label the tooltips;
    `labels` words it (LABELS by default)."""
    words = {**LABELS, **(labels or {})}
    paths, height = _projected()
    shapes = []
    for row in coverage_report["municipalities"]:
        state = "covered" if row["covered"] else "uncovered"
        who = ", ".join(contact_point_names.get(cp, cp) for cp in row["contact_point_ids"]) or words["nobody"]
        title = escape(f"{row['name']} ({row['municipality_number']}): {who}")
        shapes.append(
            f'<path data-municipality="{row["municipality_number"]}" class="{state}" '
            f'fill="{COLOURS[state]}" d="{paths[row["municipality_number"]]}"><title>{title}</title></path>'
        )
    national = coverage_report["national"]
    share = f"{100 * national['population_share']:.1f}"
    headline = words["headline"].format(
        covered=national["covered_municipalities"],
        total=national["municipalities"],
        share=share.replace(".", ",") if words["decimal_comma"] else share,
    )
    legend = "".join(
        f'<rect x="{MARGIN}" y="{70 + 22 * i}" width="16" height="16" fill="{COLOURS[key]}" stroke="#888"/>'
        f'<text x="{MARGIN + 24}" y="{83 + 22 * i}">{escape(words[key])}</text>'
        for i, key in enumerate(("covered", "uncovered"))
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="13">'
        f"<title>{escape(words['title'])}</title>"
        f'<rect width="100%" height="100%" fill="#ffffff"/>'
        f'<g stroke="#ffffff" stroke-width="0.3" fill-rule="evenodd">{"".join(shapes)}</g>'
        f'<text x="{MARGIN}" y="{MARGIN + 14}" font-size="18" font-weight="bold">{escape(words["heading"])}</text>'
        f'<text x="{MARGIN}" y="{MARGIN + 36}">{escape(headline)}</text>'
        f'<g class="legend">{legend}</g>'
        f'<text x="{WIDTH - MARGIN}" y="{height - MARGIN}" text-anchor="end" font-size="11" '
        f'class="attribution">{escape(ATTRIBUTION)} · {escape(words["sources"])}</text>'
        f"</svg>"
    )


def contact_point_names(contact_points):
    return {cp["contact_point_id"]: cp["name"] for cp in contact_points}
