"""services.common.settings: declared defaults, then the environment, then nameko's config; in
production a required setting that is missing stops the start and is named."""

import pytest

from services.common.settings import COMMON, MissingSettings, Setting, Settings, markdown
from tests.samples import GATEWAY_PRODUCTION

OWN = (*COMMON, Setting("SMTP_HOST", "127.0.0.1", "The mail relay."), Setting("FLOKK_KEY", None, "A key.", True, True))


def test_defaults_then_environment_then_nameko_config():
    settings = Settings.load(
        "notification",
        OWN,
        environ={"FLOKK_MODE": "test", "SMTP_HOST": "mail.example", "FLOKK_DB_PREFIX": "env_"},
        config={"FLOKK_DB_PREFIX": "t1_", "AMQP_URI": "amqp://from-config"},
    )
    assert settings["SMTP_HOST"] == "mail.example"
    assert settings["FLOKK_DB_PREFIX"] == "t1_"
    assert settings["AMQP_URI"] == "amqp://from-config"  # a container (a test) is given its own vhost
    assert settings.as_float("FLOKK_RPC_TIMEOUT") == 30.0 and not settings.production
    assert settings.get_optional("FLOKK_KEY") is None


def test_a_read_nobody_declared_is_an_error():
    settings = Settings.load("notification", OWN, environ={"FLOKK_MODE": "test", "SMS_API_URL": "x"})
    with pytest.raises(KeyError, match="SMS_API_URL, which its settings.py does not declare"):
        settings["SMS_API_URL"]


def test_production_names_every_required_setting_that_is_missing():
    with pytest.raises(MissingSettings) as missing:
        Settings.load("notification", OWN, environ={"MONGODB_URI": "mongodb://db"})
    names = ["AMQP_PASSWORD", "AMQP_URI", "AMQP_USERNAME", "FLOKK_KEY", "FLOKK_SIGNING_KEY", "FLOKK_VERIFY_KEYS"]
    assert missing.value.names == names
    assert f"notification cannot start in production without: {', '.join(names)}" in str(missing.value)


def test_the_documentation_has_a_row_per_setting():
    text = markdown({"notification": OWN})
    assert "| `FLOKK_KEY` |  | yes | yes | A key. |" in text
    assert text.count("| `AMQP_URI` |") == 1  # the common ones once, in their own section


def test_the_session_cookie_is_secure_by_default_outside_test_and_demo():
    from services.gateway.service import secure_cookies
    from services.gateway.settings import SETTINGS as GATEWAY

    production = GATEWAY_PRODUCTION
    assert secure_cookies(Settings.load("gateway", GATEWAY, environ=production)) is True
    assert secure_cookies(Settings.load("gateway", GATEWAY, environ={"FLOKK_MODE": "demo"})) is False
    plain_http = {**production, "FLOKK_COOKIE_SECURE": "false"}
    assert secure_cookies(Settings.load("gateway", GATEWAY, environ=plain_http)) is False
