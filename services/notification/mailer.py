"""The SMTP channel: settings read in setup(), connections kept open and reused, plain text + HTML.
Each connection is upgraded with STARTTLS (the relay's certificate checked against the system's or
SMTP_CA_FILE's CAs) and signs in with SMTP_USERNAME/SMTP_PASSWORD when configured; production
sends nothing in the clear (SMTP_STARTTLS is on unless set off), and never a password.

A connection serves one message at a time; idle ones wait in a small pool and are closed after
`IDLE_SECONDS` (before a relay drops them). A reused connection the server has closed meanwhile
fails before the server took the message (at MAIL FROM): then the message goes once more over a
new connection. A failure after that point is reported as before (transient), never resent here,
so a message is not sent twice by this retry.
"""

import smtplib
import ssl
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
    def __init__(self, host, port, timeout=10, clock=time.monotonic, connect=_Connection, tls=None, credentials=None):
        """`tls`: an ssl.SSLContext to STARTTLS with; `credentials`: (username, password) for AUTH,
        only over TLS."""
        if credentials and tls is None:
            raise ValueError("SMTP AUTH needs STARTTLS: a password never goes in the clear")
        self.host, self.port, self.timeout = host, port, timeout
        self.clock, self.connect = clock, connect
        self.tls, self.credentials = tls, credentials
        self._idle = []  # [(connection, returned_at)], most recently returned last

    def _open(self):
        """A new connection, upgraded and signed in as configured."""
        connection = self.connect(self.host, self.port, timeout=self.timeout)
        try:
            if self.tls is not None:
                connection.starttls(context=self.tls)  # SMTPNotSupportedError if the relay offers none
                connection.ehlo()
            if self.credentials:
                connection.login(*self.credentials)
        except BaseException:
            _close(connection)
            raise
        return connection

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
            connection = self._open()  # stale: once more, fresh
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
        return self._open(), False

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


def tls_context(settings):
    """The STARTTLS context as SMTP_STARTTLS says (unset: on in production, off in test and demo)."""
    configured = settings.get_optional("SMTP_STARTTLS")
    if not (settings.production if configured in (None, "") else settings.as_flag("SMTP_STARTTLS")):
        return None
    return ssl.create_default_context(cafile=settings.get_optional("SMTP_CA_FILE") or None)


class Mailer(DependencyProvider):
    def setup(self):
        settings = for_container(self.container)
        username = settings.get_optional("SMTP_USERNAME")
        self.mailer = SmtpMailer(
            settings["SMTP_HOST"],
            settings.as_int("SMTP_PORT"),
            tls=tls_context(settings),
            credentials=(username, settings["SMTP_PASSWORD"]) if username else None,
        )

    def stop(self):
        self.mailer.close()

    kill = stop

    def get_dependency(self, worker_ctx):
        return self.mailer
