"""`flokk-run --config services/config.yml services.registration.service`: `nameko run`, except that
the process puts its own broker user (AMQP_USERNAME, AMQP_PASSWORD) into AMQP_URI and TLS options
into nameko's config before any service starts (`config.broker_config`), and refuses guest outside
test and demo or off loopback, with the reason. The image's entrypoint and scripts/services.sh
start every service through it.
"""

import eventlet

eventlet.monkey_patch()  # before anything imports sockets or threads, as `nameko run` does

import argparse  # noqa: E402
import logging.config  # noqa: E402
import sys  # noqa: E402

import yaml  # noqa: E402


def load_config(path):
    """nameko's config file, its `${VAR:default}` values read from the environment as nameko reads them."""
    from nameko.cli.main import setup_yaml_parser

    setup_yaml_parser()
    with open(path) as config_file:
        return yaml.safe_load(config_file)


def completed(config, environ=None):
    """The config with the broker as this process connects to it (config.broker_config)."""
    from .config import AMQP_CA_FILE_KEY, AMQP_PASSWORD_KEY, AMQP_USERNAME_KEY, broker_config
    from .settings import tool_value

    read = tool_value if environ is None else environ.get
    values = {**config}
    for name in (AMQP_USERNAME_KEY, AMQP_PASSWORD_KEY, AMQP_CA_FILE_KEY, "FLOKK_MODE"):
        values[name] = read(name)
    return {**config, **broker_config(values)}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="flokk-run", description=__doc__.split("\n\n")[0])
    parser.add_argument("services", nargs="+", metavar="module[:service class]")
    parser.add_argument("--config", required=True, help="nameko's YAML configuration file")
    args = parser.parse_args(argv)
    from nameko.cli.run import import_service, run

    from .config import BrokerUserRefused

    try:
        config = completed(load_config(args.config))
    except BrokerUserRefused as refused:
        print(f"flokk-run: {refused}", file=sys.stderr)
        return 64
    if "LOGGING" in config:
        logging.config.dictConfig(config["LOGGING"])
    if "." not in sys.path:
        sys.path.insert(0, ".")
    services = [service for path in args.services for service in import_service(path)]
    run(services, config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
