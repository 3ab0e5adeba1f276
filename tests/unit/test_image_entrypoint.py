"""The image's entrypoint (scripts/run_service.sh): FLOKK_SERVICE chooses the service, a command
given to the container runs instead, and anything else stops it with a reason."""

import os
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "scripts" / "run_service.sh"


@pytest.fixture
def fake_runner(tmp_path):
    """A `flokk-run` first on PATH that prints what it was asked to run."""
    runner = tmp_path / "flokk-run"
    runner.write_text('#!/bin/sh\necho "flokk-run $*"\n')
    runner.chmod(runner.stat().st_mode | stat.S_IXUSR)
    return tmp_path


def entrypoint(bin_dir, *args, **env):
    environment = {"PATH": f"{bin_dir}:{os.environ['PATH']}", **env}
    return subprocess.run(["sh", str(ENTRYPOINT), *args], env=environment, capture_output=True, text=True, timeout=10)


@pytest.mark.parametrize("service", ["gateway", "registration", "matching", "notification", "directory"])
def test_the_service_named_in_flokk_service_runs(fake_runner, service):
    result = entrypoint(fake_runner, FLOKK_SERVICE=service)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"flokk-run --config /etc/flokk/config.yml services.{service}.service"


def test_a_command_given_to_the_container_runs_instead(fake_runner):
    result = entrypoint(fake_runner, "echo", "topology", FLOKK_SERVICE="gateway")
    assert (result.returncode, result.stdout.strip()) == (0, "topology")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "FLOKK_SERVICE is not set"),
        ("", "FLOKK_SERVICE is not set"),
        ("billing", "FLOKK_SERVICE='billing' is not a Flokk service"),
        ("gateway registration", "FLOKK_SERVICE='gateway registration' is not a Flokk service"),
    ],
)
def test_no_service_or_an_unknown_one_stops_with_the_reason(fake_runner, value, reason):
    result = entrypoint(fake_runner, **({} if value is None else {"FLOKK_SERVICE": value}))
    assert result.returncode == 64
    assert reason in result.stderr
    assert "one of: gateway registration matching notification directory" in result.stderr
    assert result.stdout == ""
