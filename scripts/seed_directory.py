"""Load the example directory (services/directory/data/example_directory.json) through the
directory's RPC, so every contact point is validated and announced like any other."""

import sys

import eventlet

eventlet.monkey_patch()

import logging

logging.getLogger("amqp").setLevel(logging.ERROR)

from services.common.actors import SELF
from services.common.rpc import tool_rpc
from services.directory.example import example_payloads


def main():
    contact_points = example_payloads()
    with tool_rpc(timeout=30) as cluster:  # signs as ops, which may write the directory
        for contact_point in contact_points:
            cluster.directory.upsert_contact_point(contact_point, SELF)
        national = cluster.directory.coverage()["national"]
    print(
        f"example directory loaded: {len(contact_points)} contact points (marked as example data); "
        f"they cover {national['covered_municipalities']} of {national['municipalities']} municipalities, "
        f"{national['population_share']:.1%} of the population"
    )


if __name__ == "__main__":
    sys.exit(main())
