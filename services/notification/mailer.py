"""The SMTP channel: settings read in setup(), connections kept open and reused, plain text + HTML.

A connection serves one message at a time; idle ones wait in a small pool and are closed after
`IDLE_SECONDS` (before a relay drops them). A reused connection the server has closed meanwhile
fails before the server took the message (at MAIL FROM): then the message goes once more over a
new connection. A failure after that point is reported as before (transient), never resent here,
so a message is not sent twice by this retry.
"""

import smtplib
import time
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate

from nameko.extensions import DependencyProvider

from services.common.settings import for_container

from .ports import DeliveryFailure

SENDER_ADDRESS = "ikke-svar@flokk.no"
IDLE_SECONDS = 30
MAX_IDLE_CONNECTIONS = 10


class _Connection(smtplib.SMTP):
    """Remembers whether the server accepted MAIL FROM, i.e. whether a message was under way."""

    message_started = False

    def mail(self, sender, options=()):
        reply = super().mail(sender, options)
        self.message_started = reply[0] == 250
        return reply


class SmtpMailer:
    def __init__(self, host, port, timeout=10, clock=time.monotonic, connect=_Connection):
        self.host, self.port, self.timeout = host, port, timeout
        self.clock, self.connect = clock, connect
        self._idle = []  # [(connection, returned_at)], most recently returned last

    def send(self, to, rendered, message_id):
        """Send one message; raises DeliveryFailure (transient for 4xx and connection trouble)."""
        message = EmailMessage()
        message["From"] = Address(display_name=rendered.sender_name, addr_spec=SENDER_ADDRESS)
        message["To"] = to
        message["Subject"] = rendered.subject
        message["Message-ID"] = message_id
        message["Date"] = formatdate(usegmt=True)
        message.set_content(rendered.text)
        message.add_alternative(rendered.html, subtype="html")
        message["Content-Language"] = rendered.language  # after: add_alternative moves Content-* into the parts
        try:
            self._send(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryFailure("email", f"recipient refused ({codes})", all(400 <= c < 500 for c in codes)) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryFailure("email", f"SMTP {exc.smtp_code}", 400 <= exc.smtp_code < 500) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailure("email", type(exc).__name__, transient=True) from None

    def _send(self, message):
        connection, reused = self._acquire()
        try:
            connection.message_started = False
            connection.send_message(message)
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            _close(connection)
            if not reused or connection.message_started:
                raise
            connection = self.connect(self.host, self.port, timeout=self.timeout)  # stale: once more, fresh
            try:
                connection.send_message(message)
            except BaseException:
                _close(connection)
                raise
        except smtplib.SMTPResponseException:
            self._release(connection)  # the server refused this message; the connection is fine
            raise
        except BaseException:
            _close(connection)
            raise
        self._release(connection)

    def _acquire(self):
        """(connection, reused): an idle one that is fresh enough, else a new one."""
        now = self.clock()
        while self._idle:
            connection, returned_at = self._idle.pop()
            if now - returned_at < IDLE_SECONDS:
                return connection, True
            _close(connection)
        return self.connect(self.host, self.port, timeout=self.timeout), False

    def _release(self, connection):
        if len(self._idle) >= MAX_IDLE_CONNECTIONS:
            _close(connection)
        else:
            self._idle.append((connection, self.clock()))

    def close(self):
        while self._idle:
            _close(self._idle.pop()[0])


def _close(connection):
    try:
        connection.quit()
    except (smtplib.SMTPException, OSError):
        connection.close()


class Mailer(DependencyProvider):
    def setup(self):
        settings = for_container(self.container)
        self.mailer = SmtpMailer(settings["SMTP_HOST"], settings.as_int("SMTP_PORT"))

    def stop(self):
        self.mailer.close()

    kill = stop

    def get_dependency(self, worker_ctx):
        return self.mailer
