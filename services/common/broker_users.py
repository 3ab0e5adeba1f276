"""The broker users of Flokk and their rights (`topology.permissions`), made real: on a local broker
through its management API (scripts/infra.sh: `python -m services.common.broker_users apply`), in
Kubernetes as the messaging topology operator's `User`, `Permission` and `TopicPermission`
resources (`python -m services.common.broker_users manifests > deploy/base/broker-users.yaml`; a
unit test compares). docs/operations.md, "Broker users".

    python -m services.common.broker_users apply --vhost / --credentials FILE [--prefix P]
    python -m services.common.broker_users manifests

`apply` creates every user that is missing (a random password, kept in FILE as `name=password`
lines, mode 0600; an existing FILE's passwords are used again), and sets each user's permissions
and topic permissions on the vhost. The management API is `RABBIT_MGMT_URI` (with an
administrator's credentials: guest on loopback, in test and demo).
"""

import argparse
import base64
import json
import os
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from .topology import Permission, permissions

#: The RabbitmqCluster the Kubernetes resources refer to (deploy/base/infra/rabbitmq.yaml).
CLUSTER = "flokk-rabbitmq"


class ManagementApi:
    def __init__(self, uri: str) -> None:
        parts = urllib.parse.urlsplit(uri)
        self.base = f"{parts.scheme}://{parts.hostname}:{parts.port}"
        credentials = f"{urllib.parse.unquote(parts.username or 'guest')}:{urllib.parse.unquote(parts.password or '')}"
        self.authorization = "Basic " + base64.b64encode(credentials.encode()).decode()

    def call(self, method: str, path: str, body: object = None) -> object:
        request = urllib.request.Request(
            self.base + path, method=method, data=None if body is None else json.dumps(body).encode()
        )
        request.add_header("Authorization", self.authorization)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=10) as answer:
            text = answer.read()
        return json.loads(text) if text else None

    def exists(self, path: str) -> bool:
        try:
            self.call("GET", path)
            return True
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return False
            raise


def quoted(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def read_credentials(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {name: password for name, password in pairs}


def write_credentials(path: Path, credentials: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.writelines(f"{name}={password}\n" for name, password in sorted(credentials.items()))


def apply(api: ManagementApi, vhost: str, credentials: dict[str, str], prefix: str = "") -> dict[str, str]:
    """Every user (`prefix` + name) with its password and rights on `vhost`; returns the
    credentials by user name (the given ones, and new ones for users that had none)."""
    credentials = dict(credentials)
    if not api.exists(f"/api/vhosts/{quoted(vhost)}"):
        api.call("PUT", f"/api/vhosts/{quoted(vhost)}", {})
    for name, permission in permissions().items():
        user = prefix + name
        password = credentials.setdefault(user, secrets.token_urlsafe(24))
        api.call("PUT", f"/api/users/{quoted(user)}", {"password": password, "tags": ""})
        grant(api, vhost, user, permission)
    return credentials


def grant(api: ManagementApi, vhost: str, user: str, permission: Permission) -> None:
    where = f"{quoted(vhost)}/{quoted(user)}"
    rights = {"configure": permission.configure, "write": permission.write, "read": permission.read}
    api.call("PUT", f"/api/permissions/{where}", rights)
    for exchange, write, read in permission.topics:
        api.call("PUT", f"/api/topic-permissions/{where}", {"exchange": exchange, "write": write, "read": read})


# --- Kubernetes -------------------------------------------------------------------------------


def resource_name(user: str) -> str:
    return f"flokk-broker-{user}"


def credentials_secret(user: str) -> str:
    """The Secret the operator makes for a `User` (keys `username`, `password`)."""
    return f"{resource_name(user)}-user-credentials"


def manifests(vhost: str = "/") -> str:
    """The operator's resources for every user, as one YAML stream."""
    import yaml

    cluster = {"name": CLUSTER}
    documents: list[dict] = []
    for user, permission in permissions().items():
        name = resource_name(user)
        documents.append(
            {
                "apiVersion": "rabbitmq.com/v1beta1",
                "kind": "User",
                "metadata": {"name": name},
                "spec": {"rabbitmqClusterReference": cluster},
            }
        )
        documents.append(
            {
                "apiVersion": "rabbitmq.com/v1beta1",
                "kind": "Permission",
                "metadata": {"name": name},
                "spec": {
                    "vhost": vhost,
                    "userReference": {"name": name},
                    "permissions": {
                        "configure": permission.configure,
                        "write": permission.write,
                        "read": permission.read,
                    },
                    "rabbitmqClusterReference": cluster,
                },
            }
        )
        for exchange, write, read in permission.topics:
            documents.append(
                {
                    "apiVersion": "rabbitmq.com/v1beta1",
                    "kind": "TopicPermission",
                    "metadata": {"name": f"{name}-{exchange.replace('.', '-')}"},
                    "spec": {
                        "vhost": vhost,
                        "userReference": {"name": name},
                        "permissions": {"exchange": exchange, "write": write, "read": read},
                        "rabbitmqClusterReference": cluster,
                    },
                }
            )
    header = (
        "# Generated by `python -m services.common.broker_users manifests` from services/common/topology.py\n"
        "# (a unit test fails when it is stale). A broker user per service, `integration` for outside\n"
        "# systems, `ops` for the tools, `topology` for the flokk-topology Job: the messaging topology\n"
        "# operator creates each with a random password in the Secret <name>-user-credentials.\n"
    )
    return header + yaml.safe_dump_all(documents, sort_keys=False, width=200)


def main(argv: list[str] | None = None) -> int:
    from .settings import tool_value

    parser = argparse.ArgumentParser(prog="broker_users", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    applying = commands.add_parser("apply", help="create the users and grant their rights on a vhost")
    applying.add_argument("--vhost", default="/")
    applying.add_argument("--credentials", type=Path, required=True, help="name=password lines (kept, mode 0600)")
    applying.add_argument("--prefix", default="", help="before every user name (a test's own users)")
    commands.add_parser("manifests", help="the operator's User, Permission and TopicPermission resources")
    args = parser.parse_args(argv)
    if args.command == "manifests":
        sys.stdout.write(manifests())
        return 0
    api = ManagementApi(tool_value("RABBIT_MGMT_URI") or "http://guest:guest@127.0.0.1:15672")
    write_credentials(args.credentials, apply(api, args.vhost, read_credentials(args.credentials), args.prefix))
    print(f"broker users ready on vhost {args.vhost}: {', '.join(args.prefix + name for name in permissions())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
