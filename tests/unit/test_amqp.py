"""services/common/amqp.py: AMQP_URI names one broker node or several (`;`), each checked with a
reason that names the node by its place and never repeats the password; the reconnect log shows
addresses only; a publish the broker nacks for a moment is made again after a pause."""

import ast
import json
import logging
from pathlib import Path

import pytest
from amqp.exceptions import MessageNacked
from kombu.exceptions import OperationalError

from services.common import amqp
from services.common.amqp import BrokerPublisher, BrokerUriError, FailoverQueueConsumer, broker_nodes, node_addresses
from services.common.logs import JsonFormatter

SERVICES = Path(__file__).resolve().parents[2] / "services"
NODE = "amqp://flokk:s3cret@10.0.0.{n}:5672/flokk"


def test_one_node_or_several():
    assert broker_nodes("amqp://guest:guest@127.0.0.1:5672/") == ["amqp://guest:guest@127.0.0.1:5672/"]
    three = ";".join(NODE.format(n=n) for n in (1, 2, 3))
    assert broker_nodes(three) == [NODE.format(n=n) for n in (1, 2, 3)]
    assert broker_nodes("amqps://rabbit.example.no") == ["amqps://rabbit.example.no"]


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        (f"{NODE.format(n=1)};;{NODE.format(n=3)}", "node 2 of 3 is empty"),
        (f"{NODE.format(n=1)};", "node 2 of 2 is empty"),
        (f"{NODE.format(n=1)}; {NODE.format(n=2)}", "node 2 of 2 has spaces around it"),
        (f"{NODE.format(n=1)};http://flokk:s3cret@10.0.0.2/", "node 2 of 2 must start with amqp:// or amqps://"),
        ("amqp://flokk:s3cret@10.0.0.1:56x2/flokk", "AMQP_URI has a port that is not a number"),
        ("amqp://flokk:s3cret@10.0.0.1:99999/flokk", "AMQP_URI has a port that is not a number"),
        (f"{NODE.format(n=1)};amqp://flokk:s3cret@/flokk", "node 2 of 2 names no host"),
        (f"{NODE.format(n=1)};amqp://flokk:s3cret@10.0.0.2:5672/other", "the nodes name different vhosts"),
        ("10.0.0.1:5672", "AMQP_URI must start with amqp:// or amqps://"),
    ],
)
def test_a_wrong_uri_is_refused_with_the_node_and_the_reason_but_not_the_password(uri, reason):
    with pytest.raises(BrokerUriError) as refused:
        broker_nodes(uri)
    assert reason in str(refused.value)
    assert "s3cret" not in str(refused.value)


def test_the_vhost_of_a_node_without_a_path_is_the_default_one():
    assert len(broker_nodes("amqp://g:g@10.0.0.1:5672;amqp://g:g@10.0.0.2:5672/")) == 2


def test_a_publisher_on_a_wrong_uri_refuses_at_once():
    with pytest.raises(BrokerUriError, match="node 2 of 2 is empty"):
        BrokerPublisher(f"{NODE.format(n=1)};")


def test_addresses_name_host_and_port_only():
    assert node_addresses(f"{NODE.format(n=1)};amqps://flokk:s3cret@10.0.0.2") == ["10.0.0.1:5672", "10.0.0.2:5671"]


class Container:
    """What nameko's extensions read of their container."""

    def __init__(self, amqp_uri):
        self.config = {"AMQP_URI": amqp_uri}
        self.shared_extensions = {}


def test_a_failed_connection_attempt_is_logged_without_any_node_password(caplog):
    container = Container(";".join(NODE.format(n=n) for n in (1, 2, 3)))
    consumer = FailoverQueueConsumer().bind(container)  # holds its container weakly
    with caplog.at_level(logging.WARNING, logger="services.common.amqp"):
        consumer.on_connection_error(ConnectionRefusedError(111, "refused"), 2)
    [record] = caplog.records
    line = json.loads(JsonFormatter().format(record))
    assert "s3cret" not in json.dumps(line)
    assert line["error"] == "ConnectionRefusedError"
    assert line["reason"] == "nodes 10.0.0.1:5672, 10.0.0.2:5672, 10.0.0.3:5672; next try in 2 s"


#: What a service may import from nameko's RPC and messaging modules: the rest has Flokk's own
#: version (services.common.rpc, .amqp, .delivery), which fails over between broker nodes.
NAMEKO_ALLOWED = {
    "nameko.rpc": {"Rpc"},  # for isinstance only
    "nameko.messaging": {"Consumer"},
}
THEIR_HOME = {SERVICES / "common" / "rpc.py", SERVICES / "common" / "amqp.py"}


def nameko_imports_a_service_should_not_make():
    for path in sorted(SERVICES.rglob("*.py")):
        if path in THEIR_HOME:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module in NAMEKO_ALLOWED:
                for alias in node.names:
                    if alias.name not in NAMEKO_ALLOWED[node.module]:
                        yield f"{path.relative_to(SERVICES.parent)}:{node.lineno}: {node.module}.{alias.name}"


def test_services_use_the_rpc_and_consumers_that_fail_over():
    assert list(nameko_imports_a_service_should_not_make()) == []


class StandInTime:
    """`time` for `until_taken`: its pauses pass at once, and are noted."""

    def __init__(self):
        self.now, self.pauses = 0.0, []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.pauses.append(seconds)
        self.now += seconds


def nacked():
    """What kombu raises when the broker nacks a confirmed publish."""
    try:
        raise MessageNacked()
    except MessageNacked as nack:
        try:
            raise OperationalError("") from nack
        except OperationalError as refused:
            return refused


def publisher_refused(times, then=None):
    calls = []

    def publish():
        calls.append(len(calls))
        if len(calls) <= times:
            raise nacked()
        if then is not None:
            raise then
        return "taken"

    return publish, calls


@pytest.fixture
def clock(monkeypatch):
    stand_in = StandInTime()
    monkeypatch.setattr(amqp, "time", stand_in)
    return stand_in


def test_a_publish_the_broker_refuses_for_a_moment_is_made_again_after_growing_pauses(clock):
    publish, calls = publisher_refused(times=5)
    assert amqp.until_taken(publish) == "taken"
    assert len(calls) == 6 and clock.pauses == [0.2, 0.4, 0.8, 1.6, 2.0]


def test_a_broker_that_keeps_refusing_is_given_up_on_after_the_patience(clock):
    publish, calls = publisher_refused(times=1000)
    with pytest.raises(OperationalError):
        amqp.until_taken(publish, patience=10)
    assert sum(clock.pauses) <= 10 and len(calls) == len(clock.pauses) + 1


def test_any_other_failure_is_not_tried_again(clock):
    publish, calls = publisher_refused(times=0, then=OperationalError("connection refused on every node"))
    with pytest.raises(OperationalError, match="every node"):
        amqp.until_taken(publish)
    assert len(calls) == 1 and clock.pauses == []


class BrokenChannel:
    connection = "still looks open"  # the consumer has not noticed yet


class MessageOnABrokenConnection:
    channel = BrokenChannel()

    def ack(self):
        raise ConnectionResetError(104, "Connection reset by peer")

    requeue = ack


def test_an_ack_on_a_connection_that_just_broke_is_dropped_not_fatal(caplog):
    container = Container(NODE.format(n=1))
    consumer = FailoverQueueConsumer().bind(container)  # holds its container weakly
    with caplog.at_level(logging.WARNING, logger="services.common.amqp"):
        consumer.ack_message(MessageOnABrokenConnection())
        consumer.requeue_message(MessageOnABrokenConnection())
    assert [r.getMessage() for r in caplog.records] == ["ack lost with the broker connection: redelivered later"] * 2
    assert caplog.records[0].error == "ConnectionResetError"
