"""Signed actors for tests that call services over the broker (docs/rpc.md, "Signed actors"): a
proxy that signs as a given process with its development key, as that process would."""

from contextlib import contextmanager

from services.common import clock
from services.common.actors import Actor, Signer
from services.common.rpc import tool_rpc

GATEWAY, OPS = "gateway", "ops"


def signer(name):
    """`name`'s development signer (test and demo need no keys configured)."""
    return Signer.from_settings(name, None, development=True)


def person(role, **claims):
    """An actor the gateway signs: `person("national_admin", account_id="acc-0")`."""
    return Actor(role=role, **claims)


@contextmanager
def rpc_as(name, config, timeout=20, wall_clock=False):
    """The services as process `name` calls them; its actors signed at the test's clock, or at the
    wall clock (`wall_clock`) for services running as processes of their own, which read it."""
    if wall_clock:
        with clock.use(clock.SystemClock()), tool_rpc(config, timeout, signer(name)) as services:
            yield services
    else:
        with tool_rpc(config, timeout, signer(name)) as services:
            yield services
