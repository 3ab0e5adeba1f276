"""flokk-dlq: the dead-letter queues `<service>.dead`, for whoever is on call (docs/operations.md,
"Dead letters").

    flokk-dlq list [--service S] [--json]        service, id, event type, reason and age
    flokk-dlq show SERVICE ID                    the envelope, its values masked but ids and enums
    flokk-dlq replay SERVICE (ID | --all)        back to the queue it failed in, attempts reset
    flokk-dlq purge SERVICE (ID | --all | --older-than DAYS) --yes

ID is the envelope's `event_id` (a body that is no envelope gets `body-<hash>`). Exit codes: 0 ok,
1 not found, 2 usage error, 3 the broker failed us. The broker is `AMQP_URI`.

**How a queue is read without losing a message.** Each message is taken with `basic.get` and not
acknowledged: until the tool acks it, it remains the broker's. Only a purge acks a message, and a
replay acks it only after the broker confirmed the copy (publisher confirms, `mandatory`, so a copy
nobody would receive fails instead). Everything else goes back when the tool closes its channel, or
when the broker sees the connection go because the tool died midway: nothing is republished, so a
message keeps its place and its 7-day expiry, which counts from its dead-lettering. Dying between a
confirmed replay and its ack leaves the message in the queue as well as replayed: handlers are
idempotent, so that is a duplicate at worst, never a loss.
"""

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import amqp  # type: ignore[import-untyped]
from amqp.exceptions import AMQPError, NotFound  # type: ignore[import-untyped]
from kombu import Connection
from kombu.exceptions import OperationalError
from marshmallow import Schema, fields, validate

from . import clock, contracts
from .amqp import connection as broker_connection
from .config import BrokerUserRefused, amqp_ssl_from_env, amqp_uri_from_env
from .delivery import ATTEMPT_HEADER, REASON_HEADER, TARGET_HEADER
from .topology import dead_letter_queue, retry_exchange

OK, NOT_FOUND, USAGE, BROKER = 0, 1, 2, 3
MASK = "…"
ORIGINAL = "x-flokk-original-"
#: Headers of a message's last life that its replay must not carry: the dead letter's own, its
#: attempt count, and what the broker counted (redeliveries, passes through the delay queues).
DROPPED_ON_REPLAY = re.compile(
    rf"^({re.escape(REASON_HEADER)}|{re.escape(ATTEMPT_HEADER)}|{ORIGINAL}.*|x-delivery-count|x-death|x-(first|last)-death-.*)$"
)
ID_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
ENVELOPE_KEYS = ("event_id", "event_type", "schema_version", "occurred_at", "source")


class QueueMissing(Exception):
    pass


@dataclass
class DeadLetter:
    service: str
    id: str
    event_type: str
    reason: str
    age: timedelta | None
    headers: dict[str, Any]
    envelope: dict[str, Any] | None
    message: Any = field(repr=False)  # the amqp.Message, unacked

    def summary(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "id": self.id,
            "event_type": self.event_type,
            "reason": self.reason,
            "age_seconds": None if self.age is None else int(self.age.total_seconds()),
            "original_queue": self.headers.get(f"{ORIGINAL}queue"),
        }


def read_letter(service: str, message: Any, now: datetime) -> DeadLetter:
    """What one message of `<service>.dead` is, from its body and its headers."""
    headers = dict(message.headers or {})
    body = message.body if isinstance(message.body, bytes) else str(message.body).encode()
    try:
        envelope = json.loads(body)
    except ValueError:
        envelope = None
    if not isinstance(envelope, dict):
        envelope = None
    event_id = (envelope or {}).get("event_id")
    queue = str(headers.get(f"{ORIGINAL}queue") or "")
    event_type = (envelope or {}).get("event_type") or queue.rsplit(".", 1)[-1] or "?"
    return DeadLetter(
        service=service,
        id=event_id if isinstance(event_id, str) else f"body-{hashlib.sha256(body).hexdigest()[:16]}",
        event_type=str(event_type),
        reason=str(headers.get(REASON_HEADER, "")),
        age=_age(envelope, now),
        headers=headers,
        envelope=envelope,
        message=message,
    )


def _age(envelope: dict[str, Any] | None, now: datetime) -> timedelta | None:
    """Since the event occurred: the envelope is all a dead letter says about time."""
    try:
        occurred = datetime.fromisoformat(str((envelope or {})["occurred_at"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return None
    return now - occurred if occurred.tzinfo else None


# --- masking ---------------------------------------------------------------------------------------


def redacted(envelope: dict[str, Any]) -> dict[str, Any]:
    """The envelope with every value of `data` replaced by "…", except ids, municipality numbers,
    themes and the values of an enum of the event's contract; only what the contract (or the key's
    name) says is such a value, and has its shape, is kept."""
    version = envelope.get("schema_version")
    schema_cls = contracts.VERSIONS.get((envelope.get("source"), envelope.get("event_type")), {}).get(version)  # type: ignore[arg-type]
    shown: dict[str, Any] = {}
    for key, value in envelope.items():
        if key == "data":
            shown[key] = _masked(value, schema_cls() if schema_cls else None)
        elif key in ENVELOPE_KEYS and _plain(value):
            shown[key] = value
        else:
            shown[key] = MASK
    return shown


def _plain(value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return True
    return isinstance(value, str) and (bool(ID_VALUE.match(value)) or _is_time(value))


def _is_time(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _masked(value: Any, schema: Schema | None) -> Any:
    if not isinstance(value, dict):
        return MASK
    known = schema.fields if schema is not None else {}
    return {key: _masked_value(key, item, known.get(key)) for key, item in value.items()}


def _masked_value(name: str, value: Any, declared: fields.Field | None) -> Any:
    if isinstance(value, list):
        inner = declared.inner if isinstance(declared, fields.List) else None
        return [_masked_value(name, item, inner) for item in value]
    if isinstance(value, dict):
        return _masked(value, declared.schema if isinstance(declared, fields.Nested) else None)
    return value if _kept(name, value, declared) else MASK


def _kept(name: str, value: Any, declared: fields.Field | None) -> bool:
    if not isinstance(value, str):
        return False  # numbers and booleans (a birth year, an answer) are masked too
    validators = getattr(declared, "validators", ())
    choices = [v.choices for v in validators if isinstance(v, validate.OneOf)]
    choices += [[v.comparable] for v in validators if isinstance(v, validate.Equal)]  # an enum of one
    if any(value in c for c in choices) or (name in ("theme", "themes") and value in contracts.THEMES):
        return True
    if "municipality_number" in name:
        return bool(re.fullmatch(r"\d{4}", value))
    return (name == "id" or name.endswith(("_id", "_ids"))) and bool(ID_VALUE.match(value))


# --- the queue -------------------------------------------------------------------------------------


class DeadLetterQueue:
    """One pass over `<service>.dead` on a channel of its own (publisher confirms on). Closing it
    gives back every message not acked, as it was."""

    def __init__(self, connection: Connection, service: str) -> None:
        self.service, self.name = service, dead_letter_queue(service).name
        self.channel = connection.channel()

    def letters(self, now: datetime) -> Iterator[DeadLetter]:
        """Each message once: as many as the queue held when the pass began."""
        try:
            _, count, _ = self.channel.queue_declare(self.name, passive=True)
        except NotFound:
            raise QueueMissing(f"no queue {self.name}") from None
        for _ in range(count):
            message = self.channel.basic_get(self.name, no_ack=False)
            if message is None:
                return
            yield read_letter(self.service, message, now)

    def purge(self, letter: DeadLetter) -> None:
        self.channel.basic_ack(letter.message.delivery_tag)

    def replay(self, letter: DeadLetter) -> str:
        """Back to the one queue that dead-lettered it, the way a retry returns (through the
        service's own `<service>.retry`): not through `<source>.events`, which would hand every other subscriber,
        other systems included, a second copy. Returns where it went."""
        headers = {k: v for k, v in letter.headers.items() if not DROPPED_ON_REPLAY.match(k)}
        queue = letter.headers.get(f"{ORIGINAL}queue")
        routing_key = str(letter.headers.get(f"{ORIGINAL}routing-key") or letter.event_type)
        exchange = str(letter.headers.get(f"{ORIGINAL}exchange") or "")
        if queue:
            exchange, headers[TARGET_HEADER] = retry_exchange(self.service).name, queue
        elif not exchange:
            raise QueueMissing(f"{letter.id} names neither the queue nor the exchange it came from")
        properties = {k: v for k, v in letter.message.properties.items() if k in ("content_type", "content_encoding")}
        copy = amqp.Message(letter.message.body, application_headers=headers, delivery_mode=2, **properties)
        self.channel.basic_publish(copy, exchange=exchange, routing_key=routing_key, mandatory=True)
        self.purge(letter)  # only now: the broker confirmed the copy
        return str(queue or f"exchange {exchange}")

    def close(self) -> None:
        if self.channel.is_open:
            self.channel.close()


# --- the commands ----------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    services = list(contracts.SERVICES)
    top = argparse.ArgumentParser(prog="flokk-dlq", description=__doc__.split("\n\n")[0])
    commands = top.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="service, id, event type, reason and age of each dead letter")
    listing.add_argument("--service", choices=services)
    listing.add_argument("--json", action="store_true", help="one JSON array")
    show = commands.add_parser("show", help="one dead letter, its values masked")
    show.add_argument("service", choices=services)
    show.add_argument("id")
    replay = commands.add_parser("replay", help="back to the queue it failed in, attempt count reset")
    replay.add_argument("service", choices=services)
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?")
    which.add_argument("--all", action="store_true")
    purge = commands.add_parser("purge", help="delete dead letters for good")
    purge.add_argument("service", choices=services)
    which = purge.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?")
    which.add_argument("--all", action="store_true")
    which.add_argument("--older-than", type=_days, metavar="DAYS", help="whose event occurred longer ago")
    purge.add_argument("--yes", action="store_true", required=True, help="yes, delete them")
    return top


def _days(text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r}") from None
    if days < 0:
        raise argparse.ArgumentTypeError(f"days must be 0 or more, not {days:g}")
    return days


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)  # a usage error exits with 2
    try:
        options = {"transport_options": {"confirm_publish": True}}
        with broker_connection(amqp_uri_from_env(), amqp_ssl_from_env(), **options) as connection:
            return COMMANDS[args.command](connection, args)
    except BrokerUserRefused as refused:
        print(f"flokk-dlq: {refused}", file=sys.stderr)
        return USAGE
    except QueueMissing as missing:
        print(f"flokk-dlq: {missing}", file=sys.stderr)
        return NOT_FOUND
    except (OSError, AMQPError, OperationalError) as exc:
        print(f"flokk-dlq: the broker failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return BROKER


def _list(connection: Connection, args: argparse.Namespace) -> int:
    found = []
    for service in [args.service] if args.service else contracts.SERVICES:
        queue = DeadLetterQueue(connection, service)
        try:
            found += [letter.summary() for letter in queue.letters(clock.now())]
        except QueueMissing:
            if args.service:
                raise
        finally:
            queue.close()
    if args.json:
        print(json.dumps(found, indent=2, ensure_ascii=False))
        return OK
    print(f"{'SERVICE':<13} {'ID':<36} {'EVENT TYPE':<26} {'AGE':>7}  REASON")
    for row in found:
        print(
            f"{row['service']:<13} {row['id']:<36} {row['event_type']:<26} {_age_text(row['age_seconds']):>7}  ", end=""
        )
        print(row["reason"][:100])
    print(f"{len(found)} dead letter(s)", file=sys.stderr)
    return OK


def _age_text(seconds: int | None) -> str:
    if seconds is None:
        return "?"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def _show(connection: Connection, args: argparse.Namespace) -> int:
    def show(queue: DeadLetterQueue, letter: DeadLetter) -> None:
        print(json.dumps(_shown(letter), indent=2, ensure_ascii=False))

    return _each(connection, args, show)


def _shown(letter: DeadLetter) -> dict[str, Any]:
    headers = {k: v for k, v in letter.headers.items() if k.startswith("x-flokk-") or k == "x-delivery-count"}
    body = (
        redacted(letter.envelope)
        if letter.envelope is not None
        else f"{len(letter.message.body)} bytes, not a JSON envelope (not shown)"
    )
    return {**letter.summary(), "headers": headers, "envelope": body}


def _replay(connection: Connection, args: argparse.Namespace) -> int:
    def replay(queue: DeadLetterQueue, letter: DeadLetter) -> None:
        print(f"replayed {letter.id} to {queue.replay(letter)}")

    return _each(connection, args, replay)


def _purge(connection: Connection, args: argparse.Namespace) -> int:
    def purge(queue: DeadLetterQueue, letter: DeadLetter) -> None:
        queue.purge(letter)
        print(f"purged {letter.id}")

    return _each(connection, args, purge)


def _each(connection: Connection, args: argparse.Namespace, act: Callable[[DeadLetterQueue, DeadLetter], None]) -> int:
    """Do `act` to each dead letter the arguments choose; NOT_FOUND if an ID matched none."""
    queue = DeadLetterQueue(connection, args.service)
    older_than = getattr(args, "older_than", None)
    done = 0
    try:
        for letter in queue.letters(clock.now()):
            if getattr(args, "all", False) or letter.id == args.id or _older(letter, older_than):
                act(queue, letter)
                done += 1
    finally:
        queue.close()
    if args.id and not done:
        print(f"flokk-dlq: no dead letter {args.id} in {queue.name}", file=sys.stderr)
        return NOT_FOUND
    if not args.id:
        print(f"{done} dead letter(s)", file=sys.stderr)
    return OK


def _older(letter: DeadLetter, days: float | None) -> bool:
    """A letter whose age is unknown (no envelope) is never purged by age."""
    return days is not None and letter.age is not None and letter.age > timedelta(days=days)


COMMANDS = {"list": _list, "show": _show, "replay": _replay, "purge": _purge}

if __name__ == "__main__":
    sys.exit(main())
