"""The health report every service answers by RPC (docs/design.md §6)."""


def health_report(service, store=None, publisher=None):
    """`{"service", "status", "store", "broker"}`; a check that cannot run says "n/a"."""
    report = {"service": service, "store": "n/a", "broker": "n/a"}
    if store is not None:
        report["store"] = _check(store.ping)
    if publisher is not None:
        report["broker"] = _check(publisher.ping)
    report["status"] = "ok" if "down" not in (report["store"], report["broker"]) else "degraded"
    return report


def _check(probe):
    try:
        probe()
        return "ok"
    except Exception:
        return "down"
