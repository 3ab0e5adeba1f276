"""Both Kubernetes overlays, rendered, against the services' settings declarations: every variable
production requires is given, every key given is declared, and no secret comes from a ConfigMap."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from services.common import settings

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = ("dev", "prod")
SUBSTITUTION = re.compile(r"\$\(([A-Z0-9_]+)\)")


def rendered(overlay):
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl renders the overlays (its built-in kustomize): install it as CI does"
    out = subprocess.run(
        [kubectl, "kustomize", str(ROOT / "deploy" / "overlays" / overlay)], capture_output=True, text=True, check=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def workloads(documents):
    """(workload name, service, container, its env entries as {name: source}) per Flokk container."""
    config_maps = {d["metadata"]["name"]: d.get("data", {}) for d in documents if d["kind"] == "ConfigMap"}
    for doc in documents:
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        spec = doc["spec"]["template"]["spec"]
        for container in spec.get("initContainers", []) + spec["containers"]:
            if not container["image"].rsplit("/", 1)[-1].startswith("flokk"):
                continue
            given = {}
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    for key in config_maps[source["configMapRef"]["name"]]:
                        given[key] = "configmap"
                else:
                    given[f"<every key of Secret {source['secretRef']['name']}>"] = "secret"
            for entry in container.get("env", []):
                ref = entry.get("valueFrom", {})
                given[entry["name"]] = (
                    "configmap"
                    if "configMapKeyRef" in ref
                    else "secret"
                    if "secretKeyRef" in ref
                    else entry.get("value")
                )
            service = given.get("FLOKK_SERVICE")
            yield doc["metadata"]["name"], service, container["name"], given


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_gets_what_production_requires_and_nothing_undeclared(overlay):
    declarations = settings.all_declarations()
    problems, services_seen = [], set()
    for workload, service, container, given in workloads(rendered(overlay)):
        declared = {s.name: s for s in declarations.get(service, settings.COMMON)}
        where = f"{overlay}: {workload}/{container}"
        if container == "app":
            services_seen.add(service)
            missing = [name for name, s in declared.items() if s.required_in_production and name not in given]
            problems += [f"{where} lacks {name}, which production requires" for name in missing]
        for name, source in given.items():
            setting = declared.get(name)
            if setting is None:
                problems.append(f"{where} sets {name}, which {service or 'no service'} declares")
            elif setting.secret and source == "configmap":
                problems.append(f"{where} takes the secret {name} from a ConfigMap")
            elif setting.secret and source not in ("secret",) and not SUBSTITUTION.search(source or ""):
                problems.append(f"{where} writes the secret {name} into the manifest")
    assert problems == []
    assert services_seen == set(declarations), "every service has its Deployment"


def test_the_check_bites():
    """The drift of old (notification given SMS_API_URL, which it never reads) is found twice: an
    undeclared key, and SMS_URL missing."""
    documents = rendered("prod")
    for doc in documents:
        if doc["kind"] == "Deployment" and doc["metadata"]["name"] == "notification":
            for entry in doc["spec"]["template"]["spec"]["containers"][0]["env"]:
                if entry["name"] == "SMS_URL":
                    entry["name"] = "SMS_API_URL"
    declared = {s.name: s for s in settings.declarations_for("notification")}
    found = []
    for _workload, service, container, given in workloads(documents):
        if container == "app" and service == "notification":
            found += [name for name in given if name not in declared]
            found += [name for name, s in declared.items() if s.required_in_production and name not in given]
    assert sorted(found) == ["SMS_API_URL", "SMS_URL"]
