"""Validate the operators' custom resources in a rendered overlay against the CRDs kept in
deploy/crds, and write every other document to a file for kubernetes-validate.

    python validate_custom_resources.py RENDERED.yaml --crds deploy/crds --builtin-out BUILTIN.yaml

Strict like the API server's strict field validation: an object schema with `properties` rejects
fields it does not name, unless it is marked `x-kubernetes-preserve-unknown-fields`.
A custom kind with no CRD here fails, unless SKIPPED names it with the reason.
"""

import argparse
import copy
import sys
from pathlib import Path

import jsonschema
import yaml

BUILTIN_GROUPS = {
    "",
    "apps",
    "batch",
    "policy",
    "autoscaling",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "apiextensions.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
}
SKIPPED = {
    # "Kind": "why it is not validated here",
}


def api_group(api_version):
    return api_version.split("/")[0] if "/" in api_version else ""


def strict(schema):
    """A copy of an OpenAPI v3 schema that rejects unknown properties and knows `nullable`."""
    schema = copy.deepcopy(schema)

    def visit(node):
        if not isinstance(node, dict):
            return
        if node.get("nullable") and "type" in node:
            node["type"] = [node["type"], "null"]
        if "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields"):
            node.setdefault("additionalProperties", False)
        for key in ("properties",):
            for child in node.get(key, {}).values():
                visit(child)
        for key in ("items", "additionalProperties"):
            visit(node.get(key))
        for key in ("anyOf", "allOf", "oneOf"):
            for child in node.get(key, []):
                visit(child)

    visit(schema)
    return schema


def load_crds(directory):
    schemas = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schemas[(f"{group}/{version['name']}", kind)] = strict(version["schema"]["openAPIV3Schema"])
    return schemas


def where(error):
    return "/".join(str(p) for p in error.absolute_path) or "(root)"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("rendered")
    parser.add_argument("--crds", required=True)
    parser.add_argument("--builtin-out", required=True)
    args = parser.parse_args()
    schemas = load_crds(args.crds)
    builtin, failures, checked = [], 0, 0
    for doc in yaml.safe_load_all(Path(args.rendered).read_text()):
        if not doc:
            continue
        kind, api_version = doc["kind"], doc["apiVersion"]
        name = f"{kind}/{doc['metadata']['name']}"
        if api_group(api_version) in BUILTIN_GROUPS:
            builtin.append(doc)
        elif kind in SKIPPED:
            print(f"SKIP {name}: {SKIPPED[kind]}")
        elif (api_version, kind) not in schemas:
            print(f"FAIL {name}: no CRD for {api_version} {kind} in {args.crds}")
            failures += 1
        else:
            checked += 1
            errors = sorted(jsonschema.Draft7Validator(schemas[(api_version, kind)]).iter_errors(doc), key=where)
            for error in errors:
                print(f"FAIL {name} at {where(error)}: {error.message}")
            failures += bool(errors)
            if not errors:
                print(f"PASS {name} against its CRD ({api_version})")
    Path(args.builtin_out).write_text(yaml.safe_dump_all(builtin, sort_keys=False))
    print(
        f"custom resources: {checked} checked, {failures} failed; {len(builtin)} built-in documents left "
        "for kubernetes-validate"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
