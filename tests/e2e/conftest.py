"""The e2e tier: the services as `nameko run` processes of their own, started and stopped through
scripts/services.sh (tests/processes.py) on the test's own vhost, databases and run directory."""

import os

import pytest

from tests.bus import Tap
from tests.processes import Services, private_environment


@pytest.fixture
def services(rabbit_config, db_prefix, tmp_path):
    """scripts/services.sh for this test; at the end every process it started is stopped, by PID."""
    running = Services(private_environment(tmp_path, rabbit_config["AMQP_URI"], db_prefix))
    try:
        yield running
    finally:
        pids = running.pids()
        running.stop()
        for pid in pids:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)


@pytest.fixture
def stack(services, rabbit_config):
    """All five services and the SMTP sink, and a tap on every events exchange:
    (rabbit_config, run directory, tap, environment)."""
    tap = Tap(rabbit_config["AMQP_URI"], "registration", "matching", "notification", "directory")
    try:
        services.start()
        yield rabbit_config, services.run_dir, tap, services.env
    finally:
        tap.close()
