"""The SMTP channel keeps connections open and reconnects once when a reused one went stale."""

import smtplib

import pytest

from services.notification import mailer as mailer_module
from services.notification.mailer import SmtpMailer
from services.notification.ports import DeliveryFailure
from services.notification.templates import Rendered

RENDERED = Rendered("nb", "Emne", "Tekst", "<p>Tekst</p>")


class FakeServer:
    """Scripted SMTP connections: `fail_next` holds (stage, exception) for the next messages."""

    def __init__(self):
        self.connections, self.accepted, self.fail_next = [], [], []

    def connect(self, host, port, timeout):
        server = self

        class Connection:
            message_started = False
            closed = False

            def send_message(self, message):
                if server.fail_next:
                    stage, error = server.fail_next.pop(0)
                    self.message_started = stage == "after_mail"
                    raise error
                server.accepted.append((self, message["To"]))

            def quit(self):
                self.closed = True

            def close(self):
                self.closed = True

        connection = Connection()
        self.connections.append(connection)
        return connection


class Clock:
    now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def smtp():
    server, clock = FakeServer(), Clock()
    return SmtpMailer("127.0.0.1", 25, clock=clock, connect=server.connect), server, clock


def test_messages_share_one_connection(smtp):
    mailer, server, _ = smtp
    for n in range(3):
        mailer.send(f"p{n}@example.no", RENDERED, f"<m{n}@flokk.no>")
    assert len(server.connections) == 1 and len(server.accepted) == 3


def test_a_connection_the_server_closed_is_replaced_and_the_message_sent_once(smtp):
    mailer, server, _ = smtp
    mailer.send("a@example.no", RENDERED, "<m1@flokk.no>")
    server.fail_next = [("before_mail", smtplib.SMTPServerDisconnected("Connection unexpectedly closed"))]
    mailer.send("b@example.no", RENDERED, "<m2@flokk.no>")
    assert [to for _, to in server.accepted] == ["a@example.no", "b@example.no"]
    assert len(server.connections) == 2 and server.connections[0].closed
    assert server.accepted[1][0] is server.connections[1]


def test_a_drop_after_the_server_took_mail_from_is_not_resent_here(smtp):
    mailer, server, _ = smtp
    mailer.send("a@example.no", RENDERED, "<m1@flokk.no>")
    server.fail_next = [("after_mail", smtplib.SMTPServerDisconnected("Connection unexpectedly closed"))]
    with pytest.raises(DeliveryFailure) as failed:
        mailer.send("b@example.no", RENDERED, "<m2@flokk.no>")
    assert failed.value.transient and len(server.connections) == 1 and len(server.accepted) == 1
    mailer.send("c@example.no", RENDERED, "<m3@flokk.no>")  # the broken one is not reused
    assert len(server.connections) == 2


def test_a_new_connection_that_fails_is_reported_transient(smtp):
    mailer, server, _ = smtp
    server.fail_next = [("before_mail", smtplib.SMTPServerDisconnected("refused"))]
    with pytest.raises(DeliveryFailure) as failed:
        mailer.send("a@example.no", RENDERED, "<m1@flokk.no>")
    assert failed.value.transient and server.accepted == [] and len(server.connections) == 1


def test_a_refused_message_keeps_the_connection(smtp):
    mailer, server, _ = smtp
    server.fail_next = [("after_mail", smtplib.SMTPDataError(550, b"no"))]
    with pytest.raises(DeliveryFailure) as failed:
        mailer.send("a@example.no", RENDERED, "<m1@flokk.no>")
    assert not failed.value.transient
    mailer.send("b@example.no", RENDERED, "<m2@flokk.no>")
    assert len(server.connections) == 1


def test_an_idle_connection_is_closed_and_replaced(smtp):
    mailer, server, clock = smtp
    mailer.send("a@example.no", RENDERED, "<m1@flokk.no>")
    clock.now += mailer_module.IDLE_SECONDS
    mailer.send("b@example.no", RENDERED, "<m2@flokk.no>")
    assert len(server.connections) == 2 and server.connections[0].closed
    mailer.close()
    assert server.connections[1].closed
