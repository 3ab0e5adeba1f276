"""Reports over all contact points: coverage figures, the coverage map, the HSDS export."""

from typing import Any

from .. import coverage_map, hsds
from ..coverage import coverage as coverage_of
from ..ports import Ports


def coverage(ports: Ports) -> dict[str, Any]:
    return coverage_of(ports.reference, ports.store.contact_points())


def coverage_map_svg(ports: Ports, labels: dict[str, Any] | None = None) -> str:
    """The coverage map; `labels` words it in the reader's language (coverage_map.LABELS)."""
    contact_points = ports.store.contact_points()
    known = {key: value for key, value in (labels or {}).items() if key in coverage_map.LABELS}
    return coverage_map.render(
        coverage_of(ports.reference, contact_points), coverage_map.contact_point_names(contact_points), known
    )


def hsds_export(ports: Ports, open_only: bool = False) -> dict[str, Any]:
    """The HSDS export; `open_only`: what anyone may read (active contact points, no staff)."""
    return hsds.export(ports.reference, ports.store.contact_points(), open_only)


def hsds_export_csv(ports: Ports, open_only: bool = False) -> dict[str, str]:
    """`{file name: CSV text}`, one file per HSDS table."""
    return hsds.to_csv(hsds.tables(ports.reference, ports.store.contact_points(), open_only))
