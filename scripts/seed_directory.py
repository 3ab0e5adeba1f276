"""Load the example directory (services/directory/data/example_directory.json) through the
directory's RPC, so every contact point is validated and announced like any other."""
import json
import sys
from pathlib import Path

import eventlet

eventlet.monkey_patch()

import logging  # noqa: E402

logging.getLogger("amqp").setLevel(logging.ERROR)

from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from services.common.config import amqp_uri_from_env  # noqa: E402

EXAMPLE = Path(__file__).resolve().parent.parent / "services/directory/data/example_directory.json"


def main():
    contact_points = json.loads(EXAMPLE.read_text(encoding="utf-8"))["contact_points"]
    with ClusterRpcProxy({"AMQP_URI": amqp_uri_from_env()}, timeout=30) as cluster:
        for contact_point in contact_points:
            cluster.directory.upsert_contact_point(contact_point)
    print(f"example directory loaded: {len(contact_points)} contact points (marked as example data)")


if __name__ == "__main__":
    sys.exit(main())
