"""The SMTP dependency: settings read in setup(), one connection per message."""
import smtplib
from email.message import EmailMessage
from email.utils import formatdate

from nameko.extensions import DependencyProvider

SENDER = "Flokk <ikke-svar@flokk.no>"


class SmtpMailer:
    def __init__(self, host, port):
        self.host, self.port = host, port

    def send(self, to, subject, body, message_id, language):
        message = EmailMessage()
        message["From"] = SENDER
        message["To"] = to
        message["Subject"] = subject
        message["Message-ID"] = message_id
        message["Date"] = formatdate(usegmt=True)
        message["Content-Language"] = language
        message.set_content(body)
        with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
            smtp.send_message(message)


class Mailer(DependencyProvider):
    def setup(self):
        config = self.container.config
        self.mailer = SmtpMailer(config.get("SMTP_HOST", "127.0.0.1"), int(config.get("SMTP_PORT", 8025)))

    def get_dependency(self, worker_ctx):
        return self.mailer
