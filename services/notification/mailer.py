"""The SMTP channel: settings read in setup(), one connection per message, plain text + HTML."""
import smtplib
from email.message import EmailMessage
from email.utils import formatdate

from nameko.extensions import DependencyProvider

from .domain import DeliveryFailure

SENDER = "Flokk <ikke-svar@flokk.no>"


class SmtpMailer:
    def __init__(self, host, port, timeout=10):
        self.host, self.port, self.timeout = host, port, timeout

    def send(self, to, rendered, message_id):
        """Send one message; raises DeliveryFailure (transient for 4xx and connection trouble)."""
        message = EmailMessage()
        message["From"] = SENDER
        message["To"] = to
        message["Subject"] = rendered.subject
        message["Message-ID"] = message_id
        message["Date"] = formatdate(usegmt=True)
        message.set_content(rendered.text)
        message.add_alternative(rendered.html, subtype="html")
        message["Content-Language"] = rendered.language  # after: add_alternative moves Content-* into the parts
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryFailure("email", f"recipient refused ({codes})", all(400 <= c < 500 for c in codes)) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryFailure("email", f"SMTP {exc.smtp_code}", 400 <= exc.smtp_code < 500) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailure("email", type(exc).__name__, transient=True) from None


class Mailer(DependencyProvider):
    def setup(self):
        config = self.container.config
        self.mailer = SmtpMailer(config.get("SMTP_HOST", "127.0.0.1"), int(config.get("SMTP_PORT", 8025)))

    def get_dependency(self, worker_ctx):
        return self.mailer
