"""The image's smoke test (`make image-smoke`, through scripts/image.sh smoke, which starts the broker
and the store of a test slot and sets their URIs and ports in the environment).

Every service runs from the one image, chosen by FLOKK_SERVICE alone, each in a working container of
its own (`buildah run`, host network, /tmp a tmpfs as in Kubernetes), after the topology has been
declared from the same image (the Job's command). Then:
- every service's /healthz (its metrics port) and the gateway's own /healthz answer 200;
- the example directory is loaded and one registration goes through to its receipt at the SMTP sink
  (scripts/seed_directory.py and scripts/send_sample.py, as in `make demo`);
- nothing was written to any container's root filesystem, so a read-only root will do.

    FLOKK_IMAGE=localhost/flokk:0.1.0 .venv/bin/python scripts/image_smoke.py
"""

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.waiting import wait_until

SERVICES = ("directory", "registration", "matching", "notification", "gateway")
STARTUP_SECONDS = float(os.environ.get("FLOKK_READY_SECONDS", "120"))
# What buildah itself mounts, or writes for each run, in a working container: not the service's writes.
RUNTIME_MOUNTS = ("proc", "sys", "dev", "tmp")
RUNTIME_FILES = ("run", "run/.containerenv", "etc/hosts", "etc/resolv.conf", "etc/hostname")
ENV = os.environ
# Databases of this run only: a registration left waiting by an earlier run changes nothing here.
DB_PREFIX = f"smoke{uuid.uuid4().hex[:8]}_"
RUN_DIR = Path(ENV["FLOKK_RUN_DIR"]) / "image-smoke"
PY = str(ROOT / ".venv" / "bin" / "python")


def made_by_buildah(path):
    return path in RUNTIME_FILES or any(path == mount or path.startswith(mount + "/") for mount in RUNTIME_MOUNTS)


def say(text):
    print(f"[image-smoke] {text}", flush=True)


def buildah(*args, **kwargs):
    return subprocess.run(["bash", str(ROOT / "scripts" / "image.sh"), "buildah", *args], **kwargs)


def buildah_output(*args):
    return buildah(*args, check=True, capture_output=True, text=True).stdout.strip()


class Container:
    """One working container of the image and the process it runs (in a session of its own, so
    that a signal reaches buildah, its chroot helper and the service alike)."""

    def __init__(self, name, image):
        self.name = name
        buildah("rm", name, capture_output=True)  # a leftover of an interrupted run
        buildah_output("from", "--name", name, image)
        self.rootfs = Path(buildah_output("mount", name))
        self.process = None
        self.log = RUN_DIR / "logs" / f"{name}.log"
        self.log.unlink(missing_ok=True)

    def run(self, env, *command, wait=False):
        args = ["run", "--network", "host", "--mount", "type=tmpfs,destination=/tmp"]
        for key, value in env.items():
            args += ["--env", f"{key}={value}"]
        args += [self.name, "--", *command]
        with self.log.open("ab") as log:
            if wait:
                return buildah(*args, stdout=log, stderr=subprocess.STDOUT, timeout=120).returncode
            self.process = subprocess.Popen(
                ["bash", str(ROOT / "scripts" / "image.sh"), "buildah", *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return None

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def written_since(self, marker):
        """Files and folders on the container's root filesystem changed after `marker` was made."""
        found = subprocess.run(
            ["find", str(self.rootfs), "-xdev", "-newer", str(marker)], capture_output=True, text=True, check=True
        ).stdout.split()
        changed = [os.path.relpath(path, self.rootfs) for path in found]
        return [path for path in changed if path != "." and not made_by_buildah(path)]

    def remove(self):
        buildah("rm", self.name, capture_output=True)


def status(url):
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def service_env(index, service):
    """The settings a Deployment gives (configmap.yaml), pointed at this slot's broker and store."""
    return {
        "FLOKK_SERVICE": service,
        "FLOKK_MODE": "test",  # the vault's development keys (services/registration/vault.py)
        "AMQP_URI": ENV["AMQP_URI"],
        "MONGODB_URI": ENV["MONGODB_URI"],
        "FLOKK_DB_PREFIX": DB_PREFIX,
        "MAX_WORKERS": ENV.get("MAX_WORKERS", "5"),
        "METRICS_HOST": "127.0.0.1",
        "METRICS_PORT": str(metrics_port(index)),
        "WEB_SERVER_ADDRESS": f"127.0.0.1:{ENV['GATEWAY_PORT']}",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": ENV["SMTP_PORT"],
        "SMS_URL": f"http://127.0.0.1:{ENV['SMS_PORT']}",
    }


def metrics_port(index):
    return int(ENV["FLOKK_METRICS_BASE"]) + index + 1


def healthz_urls():
    urls = {service: f"http://127.0.0.1:{metrics_port(i)}/healthz" for i, service in enumerate(SERVICES)}
    urls["gateway http"] = f"http://127.0.0.1:{ENV['GATEWAY_PORT']}/healthz"
    return urls


def check_healthy(containers, timeout):
    """Every /healthz answers 200 within `timeout`; a service whose process has ended fails at once."""

    def healthy(url):
        ended = [c.name for c in containers if c.process is not None and c.process.poll() is not None]
        if ended:
            raise AssertionError(f"stopped: {', '.join(ended)}")
        return status(url) == 200

    for name, url in healthz_urls().items():
        wait_until(lambda url=url: healthy(url), timeout=timeout, interval=0.5, what=f"{name}: 200 from {url}")
    say("every /healthz answers 200: " + ", ".join(healthz_urls()))


def start_helper(name, *args):
    """The SMTP sink and the SMS stand-in, on the host as in `make test`."""
    log = (RUN_DIR / "logs" / f"{name}.log").open("ab")
    return subprocess.Popen([PY, *args], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def smoke(image, containers, helpers):
    maildir = RUN_DIR / "mail"
    helpers.append(start_helper("smtp", "scripts/smtp_sink.py", "--port", ENV["SMTP_PORT"], "--maildir", str(maildir)))
    helpers.append(
        start_helper("sms", "scripts/sms_provider.py", "--port", ENV["SMS_PORT"], "--outbox", str(RUN_DIR / "sms"))
    )

    started = time.monotonic()
    topology = Container(f"flokk-smoke-topology-{ENV['FLOKK_TEST_SLOT']}", image)
    containers.append(topology)
    for service in SERVICES:
        containers.append(Container(f"flokk-smoke-{service}-{ENV['FLOKK_TEST_SLOT']}", image))
    marker = RUN_DIR / "started"
    marker.touch()  # anything written from here on is newer (nanosecond timestamps)
    say(f"{len(containers)} working containers of {image} in {time.monotonic() - started:.0f}s")

    # FLOKK_MODE=test as for the services: this slot's broker has the guest user, which production
    # refuses (services/common/config.py, check_broker_user).
    declare = {"AMQP_URI": ENV["AMQP_URI"], "FLOKK_MODE": "test"}
    if topology.run(declare, "python", "-m", "services.common.topology", wait=True) != 0:
        raise AssertionError(f"the topology did not declare (log: {topology.log})")
    say("topology declared from the image")
    for index, (service, container) in enumerate(zip(SERVICES, containers[1:], strict=True)):
        container.run(service_env(index, service), "/usr/local/bin/flokk-service")
    check_healthy(containers, STARTUP_SECONDS)
    say(f"five services healthy {time.monotonic() - started:.0f}s after the first container was made")

    clients = {"cwd": ROOT, "capture_output": True, "text": True, "timeout": 120}
    seeded = subprocess.run([PY, "scripts/seed_directory.py"], **clients)
    if seeded.returncode != 0:
        raise AssertionError(f"the directory was not seeded: {seeded.stderr[-2000:]}")
    say(seeded.stdout.strip())
    sent = subprocess.run([PY, "scripts/send_sample.py", "--maildir", str(maildir), "--timeout", "60"], **clients)
    print(sent.stdout, flush=True)
    if sent.returncode != 0 or "notification_sent" not in sent.stdout:
        raise AssertionError(f"no receipt for the sample registration: {sent.stderr[-2000:]}")
    check_healthy(containers, 10)

    written = {c.name: c.written_since(marker) for c in containers}
    if any(written.values()):
        changed = {name: paths for name, paths in written.items() if paths}
        raise AssertionError(f"written to the root filesystem (a read-only root would refuse it): {changed}")
    say("nothing written to any container's root filesystem outside /tmp")


def drop_databases():
    from pymongo import MongoClient

    with MongoClient(ENV["MONGODB_URI"]) as client:
        for name in client.list_database_names():
            if name.startswith(DB_PREFIX):
                client.drop_database(name)


def main():
    image = ENV["FLOKK_IMAGE"]
    (RUN_DIR / "logs").mkdir(parents=True, exist_ok=True)
    containers, helpers = [], []
    try:
        smoke(image, containers, helpers)
    except AssertionError as failure:
        say(f"FAILED: {failure}")
        for container in containers:
            if container.log.exists():
                say(f"--- last lines of {container.log}")
                print("\n".join(container.log.read_text(errors="replace").splitlines()[-15:]), flush=True)
        return 1
    finally:
        for container in containers:
            container.stop()
        for helper in helpers:
            os.killpg(helper.pid, signal.SIGTERM)
            helper.wait(timeout=30)
        for container in containers:
            container.remove()
        drop_databases()
    say("passed: five services from one image, healthy, one registration through to its receipt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
