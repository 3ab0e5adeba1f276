"""The Python face of scripts/services.sh, the one machinery that starts and stops Flokk's processes.
The e2e and browser tests, `make screenshots`, `make bench` and `make faults` start, stop and kill
the services through it; none keeps a process table of its own. Imports neither eventlet nor nameko,
so the browser tests can use it next to Playwright."""

import os
import socket
import subprocess
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("directory", "registration", "matching", "notification", "gateway")


class Services:
    """scripts/services.sh run with one environment (its run directory, vhost, databases, ports).
    The environment is held, not copied: what a caller adds to it later counts too."""

    def __init__(self, env):
        self.env = env

    @property
    def run_dir(self):
        return Path(self.env["FLOKK_RUN_DIR"])

    def __call__(self, command, *names, modules=None, stand_ins=(), replicas=None, extra_env=None, timeout=180):
        """`services.sh COMMAND --only NAMES...`; its output, or RuntimeError with its tail.
        `replicas` ({service: count}) starts more processes of a service (`--replicas`)."""
        args = [command]
        if names:
            args += ["--only", ",".join(names)]
        for service, module in (modules or {}).items():
            args += ["--module", f"{service}={module}"]
        if stand_ins:
            args += ["--stand-ins", ",".join(stand_ins)]
        if replicas:
            args += ["--replicas", ",".join(f"{service}={count}" for service, count in replicas.items())]
        done = subprocess.run(
            ["bash", str(ROOT / "scripts" / "services.sh"), *args],
            cwd=ROOT,
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"scripts/services.sh {' '.join(args)} failed ({done.returncode}):\n"
                f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
            )
        return done.stdout

    def start(self, *names, **options):
        """Start what is not running (all, or those named) and wait until they are healthy."""
        return self("start", *names, **options)

    def stop(self, *names, timeout=60):
        return self("stop", *names, timeout=timeout)

    def kill(self, *names):
        """SIGKILL, as a crash would; gone when this returns."""
        return self("kill", *names, timeout=60)

    def pid(self, name):
        path = self.run_dir / "pids" / f"{name}.pid"
        return int(path.read_text()) if path.exists() else None

    def pids(self):
        return [int(path.read_text()) for path in (self.run_dir / "pids").glob("*.pid")]

    def log(self, name):
        return self.run_dir / "logs" / f"{name}.log"


def alive(pid):
    """Whether process `pid` runs (a zombie, killed but not yet reaped, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def private_environment(run_dir, amqp_uri, db_prefix, **extra):
    """The environment of a stack of one's own on the test broker and store: its own run directory,
    vhost and databases, and ports free now for the gateway, the SMTP sink, the SMS provider and
    the five metrics servers (scripts/env.sh, FLOKK_MODE=test); the links in messages lead to
    its gateway."""
    gateway, smtp, sms = free_ports(3)
    return {
        **os.environ,
        "FLOKK_MODE": "test",
        "FLOKK_RUN_DIR": str(run_dir),
        "AMQP_URI": amqp_uri,
        "FLOKK_DB_PREFIX": db_prefix,
        "GATEWAY_PORT": str(gateway),
        "FLOKK_PUBLIC_BASE_URL": f"http://127.0.0.1:{gateway}",  # the personal links in messages lead here
        "FLOKK_SMTP_SINK_PORT": str(smtp),
        "SMS_PORT": str(sms),
        "FLOKK_METRICS_BASE": str(free_run(len(SERVICES)) - 1),  # services.sh adds 1..5
        **extra,
    }


def free_ports(count):
    """`count` different ports free now on 127.0.0.1 (all held open together while asked for)."""
    with ExitStack() as held:
        sockets = [held.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]


def free_run(length, attempts=50):
    """The first of `length` consecutive ports free now on 127.0.0.1."""
    for _ in range(attempts):
        first = free_ports(1)[0]
        try:
            with ExitStack() as held:
                for port in range(first, first + length):
                    held.enter_context(socket.socket()).bind(("127.0.0.1", port))
            return first
        except (OSError, OverflowError):  # taken, or past the last port
            continue
    raise RuntimeError(f"no {length} consecutive free ports found in {attempts} attempts")
