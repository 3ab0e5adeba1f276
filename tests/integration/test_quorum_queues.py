"""Every long-lived queue is a quorum queue (replicated on a cluster); only the reply queues of
nameko's standalone RPC proxy stay classic (the services' own are quorum queues:
test_broker_failover.py). A classic queue left by an older version is migrated with its messages."""

from kombu import Connection, Queue
from nameko.standalone.rpc import ClusterRpcProxy

from services.common import topology
from services.common.rpc import RpcProxy, rpc


class Directory:
    name = "directory"

    @rpc
    def health(self):
        return {"service": "directory", "status": "ok"}


class Matching:
    name = "matching"
    directory = RpcProxy("directory")

    @rpc
    def directory_health(self):
        return self.directory.health()


def test_the_topology_and_running_services_declare_only_quorum_queues_but_the_standalone_proxys_reply_queue(
    rabbit_config, rabbit_manager, container_factory
):
    topology.main(rabbit_config["AMQP_URI"])
    for service in (Directory, Matching):
        container_factory(service, rabbit_config).start()
    with ClusterRpcProxy(rabbit_config) as proxy:
        assert proxy.matching.directory_health()["status"] == "ok"
    queues = {q["name"]: q for q in rabbit_manager.get_queues(rabbit_config["vhost"])}
    assert "rpc-directory" in queues and "matching.registration.registration_created" in queues
    services_reply_queues = [q for name, q in queues.items() if name.startswith("rpc.reply-matching-")]
    assert services_reply_queues and all(q["type"] == "quorum" for q in services_reply_queues)
    classic = sorted(name for name, q in queues.items() if q.get("type") != "quorum")
    assert classic and all(name.startswith("rpc.reply-standalone_rpc_proxy-") for name in classic), classic
    retry = queues["matching.retry.500"]["arguments"]
    assert retry["x-dead-letter-strategy"] == "at-least-once" and retry["x-overflow"] == "reject-publish"


def test_a_classic_queue_of_an_older_version_becomes_quorum_with_its_messages(rabbit_config, rabbit_manager):
    name = "notification.dead"
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        old = Queue(name, durable=True, channel=connection.channel())
        old.declare()
        producer = connection.Producer()
        for n in range(3):
            producer.publish({"n": n}, routing_key=name, headers={"x-flokk-reason": f"r{n}"}, delivery_mode=2)
    topology.main(rabbit_config["AMQP_URI"])
    queue = rabbit_manager.get_queue(rabbit_config["vhost"], name)
    assert queue["type"] == "quorum"
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        now = topology.dead_letter_queue("notification")(connection.channel())
        moved = [now.get(no_ack=True) for _ in range(3)]
        assert [(m.payload, m.headers["x-flokk-reason"]) for m in moved] == [({"n": n}, f"r{n}") for n in range(3)]
        assert now.get(no_ack=True) is None
    assert not any(q["name"].endswith(".migrating") for q in rabbit_manager.get_queues(rabbit_config["vhost"]))


def test_the_init_containers_check_waits_for_the_topology_and_then_passes(rabbit_config):
    uri = rabbit_config["AMQP_URI"]
    assert topology.check(uri, deadline_seconds=0.3, poll_seconds=0.1) == 1
    assert "rpc-registration" in topology.missing(uri)
    topology.main(uri)
    assert topology.missing(uri) == []
    assert topology.check(uri, deadline_seconds=0.3, poll_seconds=0.1) == 0
