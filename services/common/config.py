"""Configuration keys and their defaults (DESIGN §6). nameko's config.yml reads the same variables."""

import os

AMQP_URI_KEY = "AMQP_URI"
MONGODB_URI_KEY = "MONGODB_URI"
DB_PREFIX_KEY = "FLOKK_DB_PREFIX"
MAX_ATTEMPTS_KEY = "FLOKK_MAX_ATTEMPTS"
OUTBOX_SWEEP_SECONDS_KEY = "FLOKK_OUTBOX_SWEEP_SECONDS"

DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_MONGODB_URI = "mongodb://127.0.0.1:27017"
DEFAULT_DB_PREFIX = "flokk_"
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_OUTBOX_SWEEP_SECONDS = 2.0


def amqp_uri_from_env():
    return os.environ.get(AMQP_URI_KEY, DEFAULT_AMQP_URI)


def mongodb_uri_from_env():
    return os.environ.get(MONGODB_URI_KEY, DEFAULT_MONGODB_URI)


def database_name(config, service_name):
    return config.get(DB_PREFIX_KEY, DEFAULT_DB_PREFIX) + service_name
