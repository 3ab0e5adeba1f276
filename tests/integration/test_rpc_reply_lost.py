"""A reply the broker cannot take (it is restarting) must not kill the service answering the RPC."""

from unittest import mock

import eventlet
import pytest
from nameko.exceptions import RpcTimeout
from nameko.rpc import Responder
from nameko.standalone.rpc import ServiceRpcProxy

from services.common.rpc import rpc


class Echo:
    name = "echo"

    @rpc
    def echo(self, value):
        return value


def test_a_reply_the_broker_refuses_is_dropped_and_the_service_answers_the_next_call(container_factory, service_config):
    container = container_factory(Echo, service_config)
    container.start()
    real_send = Responder.send_response
    refused = eventlet.event.Event()

    def broker_gone_once(self, result, exc_info):
        if not refused.ready():
            refused.send()
            raise ConnectionResetError("broker restarting")
        return real_send(self, result, exc_info)

    def call(value, timeout):
        with ServiceRpcProxy("echo", service_config, timeout=timeout) as proxy:
            return proxy.echo(value)

    with mock.patch.object(Responder, "send_response", broker_gone_once):
        lost = eventlet.spawn(call, "lost", 3)
        refused.wait()
        assert call("again", 10) == "again"  # the container lived through the failed reply
        with pytest.raises(RpcTimeout):
            lost.wait()  # its reply was dropped: the caller's deadline answers for it
    assert not container._died.ready()
