"""The outbox under a real crash: registration dies (os._exit) after its transaction committed and
before it published registration_created. After a restart the event is published exactly once."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bus import Tap, publish
from tests.e2e.registration_with_faults import CRASH_EXIT_CODE, FAULT_VAR
from tests.samples import envelope, intake
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
NAMEKO_RUN = [sys.executable, "-m", "nameko", "run", "--config", "services/config.yml"]


@pytest.fixture
def processes(rabbit_config, db_prefix, tmp_path):
    """Start services as processes of their own; every one started is stopped, by its pid."""
    env = {**os.environ, "FLOKK_MODE": "test", "AMQP_URI": rabbit_config["AMQP_URI"], "FLOKK_DB_PREFIX": db_prefix}
    subprocess.run(
        [sys.executable, "-m", "services.common.topology", env["AMQP_URI"]],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    started = []

    def start(module, name, **extra_env):
        log = open(tmp_path / f"{name}-{len(started)}.log", "w")
        process = subprocess.Popen(
            NAMEKO_RUN + [module],
            cwd=ROOT,
            env={**env, **extra_env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append((process, log))
        return process

    def wait_healthy(*names):
        subprocess.run(
            [sys.executable, "-m", "services.common.wait_healthy", *names],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=90,
        )

    yield start, wait_healthy, rabbit_config["AMQP_URI"]
    for process, log in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        log.close()


def test_a_crash_between_commit_and_publish_still_publishes_exactly_once(processes, mongo, db_prefix):
    start, wait_healthy, amqp_uri = processes
    start("services.directory.service", "directory")
    doomed = start("tests.e2e.registration_with_faults", "registration", **{FAULT_VAR: "registration_created"})
    wait_healthy("directory", "registration")
    tap = Tap(amqp_uri, "registration")
    db = mongo[f"{db_prefix}registration"]
    try:
        data = intake()
        publish(amqp_uri, "intake.events", "registration_requested", envelope(data))
        assert doomed.wait(timeout=30) == CRASH_EXIT_CODE
        # The crash window: committed (registration and its outbox entry), nothing published.
        assert db.registrations.count_documents({"idempotency_key": data["idempotency_key"]}) == 1
        assert [doc["routing_key"] for doc in db.outbox.find()] == ["registration_created"]
        assert tap.events("registration_created") == []

        start("services.registration.service", "registration")  # the same service, no fault
        wait_healthy("registration")
        created = tap.wait_for("registration_created", timeout=30)[0]["data"]
        assert created["idempotency_key"] == data["idempotency_key"]

        # The unacked intake comes back after the restart and is skipped by the ledger; a later
        # marker proves that everything before it has been handled.
        marker = intake()
        publish(amqp_uri, "intake.events", "registration_requested", envelope(marker))
        tap.wait_for("registration_created", count=2, timeout=30)
        keys = [e["data"]["idempotency_key"] for e in tap.events("registration_created")]
        assert keys.count(data["idempotency_key"]) == 1 and keys.count(marker["idempotency_key"]) == 1
        assert db.registrations.count_documents({}) == 2
        # Published entries are deleted in batches by the relay's next sweep.
        wait_until(lambda: db.outbox.count_documents({}) == 0, timeout=15, what="the outbox emptied")
    finally:
        tap.close()
