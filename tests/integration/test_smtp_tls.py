"""notification's SMTP channel against a real relay (aiosmtpd on loopback) that insists on
STARTTLS and AUTH: the message goes over TLS with the relay's certificate checked and the password
never in the clear; a relay whose certificate is not trusted gets nothing."""

import datetime
import ipaddress
import ssl

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from nameko.testing.utils import find_free_port

from services.notification.mailer import SmtpMailer
from services.notification.ports import DeliveryFailure
from services.notification.templates import Rendered

RENDERED = Rendered("nb", "Emne", "Tekst", "<p>Tekst</p>")
USER, PASSWORD = "flokk", "relay passphrase"


def self_signed(directory):
    """A certificate for 127.0.0.1 and its key, as files (made for the test, never committed)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test relay")])
    now = datetime.datetime.now(datetime.UTC)  # the certificate's own validity, not the system's clock
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "relay.pem", directory / "relay.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


class Relay:
    def __init__(self):
        self.messages, self.logins = [], []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((session.ssl is not None, envelope.rcpt_tos))
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append((session.ssl is not None, auth_data.login.decode()))
        return AuthResult(success=(auth_data.login.decode(), auth_data.password.decode()) == (USER, PASSWORD))


@pytest.fixture
def relay(tmp_path):
    cert_file, key_file = self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert_file, key_file)
    handler = Relay()
    port = find_free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_tls,
        require_starttls=True,
        authenticator=handler.authenticate,
        auth_require_tls=True,
        auth_exclude_mechanism=["CRAM-MD5"],
    )
    controller.start()
    yield handler, port, cert_file
    controller.stop()


def test_mail_goes_over_starttls_with_auth_and_the_relays_certificate_checked(relay):
    handler, port, cert_file = relay
    mailer = SmtpMailer(
        "127.0.0.1", port, tls=ssl.create_default_context(cafile=str(cert_file)), credentials=(USER, PASSWORD)
    )
    mailer.send("kari@example.no", RENDERED, "<m1@flokk>")
    mailer.send("ola@example.no", RENDERED, "<m2@flokk>")  # the same connection, still TLS
    mailer.close()
    assert handler.logins == [(True, USER)]
    assert handler.messages == [(True, ["kari@example.no"]), (True, ["ola@example.no"])]


def test_a_relay_whose_certificate_is_not_trusted_gets_no_password_and_no_mail(relay):
    handler, port, _ = relay
    mailer = SmtpMailer("127.0.0.1", port, tls=ssl.create_default_context(), credentials=(USER, PASSWORD))
    with pytest.raises(DeliveryFailure) as failed:
        mailer.send("kari@example.no", RENDERED, "<m1@flokk>")
    assert failed.value.transient and handler.logins == [] and handler.messages == []


def test_a_password_is_never_sent_without_tls():
    with pytest.raises(ValueError):
        SmtpMailer("127.0.0.1", 25, credentials=(USER, PASSWORD))
