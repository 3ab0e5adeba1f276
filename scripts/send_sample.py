"""The demo's walk through the skeleton: publish one `registration_requested` on `intake.events`
with a plain AMQP client, print every event it causes, and the receipt that reaches the SMTP server.

    python scripts/send_sample.py [--maildir .run/demo/mail] [--recipient kari@example.org]

With --maildir (the demo's own SMTP sink writes there) it shows the receipt as the server received
it. Without (the mail server is the user's own, SMTP_HOST/SMTP_PORT), it says that the receipt was
handed to that server, as the notification_sent event shows.
"""

import argparse
import email
import email.policy
import json
import os
import sys
import time
import uuid
from pathlib import Path

from kombu import Connection, Exchange, Queue

from services.notification.domain import message_id

SAMPLE = {
    "name": "Kari",
    "email": "kari@example.org",  # a reserved domain (RFC 2606): never anybody's real address
    "phone": "+4791234567",
    "postal_code": "5003",
    "role": "self",
    "themes": ["grief"],
    "languages": ["nb"],
    "open_to_mixed": True,
    "availability": [{"weekday": "tue", "part_of_day": "evening"}],
    "consent": {
        "purpose": "self_help_group_matching",
        "text_version": "2026-01",
        "given_at": "2026-11-28T08:59:00Z",
        "channel": "self",
    },
}
WATCHED = ("registration", "matching", "notification", "directory")
SHOWN = (
    "registration_id",
    "contact_point_id",
    "route_kind",
    "reason",
    "template",
    "channel",
    "municipality_number",
    "themes",
)
OUTCOMES = ("notification_sent", "notification_failed", "registration_rejected")


def tap(channel):
    """Exclusive queues bound to every events exchange, declared before anything is published."""
    queue = Queue(f"demo-tap-{uuid.uuid4().hex[:8]}", exclusive=True, auto_delete=True, channel=channel)
    queue.declare()
    for source in WATCHED:
        exchange = Exchange(f"{source}.events", type="topic", durable=True, channel=channel)
        exchange.declare()
        queue.bind_to(exchange, routing_key="#")
    return queue


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--maildir", help="the folder of the demo's own SMTP sink; none: the user's server")
    parser.add_argument("--recipient", default=SAMPLE["email"], help="the sample's e-mail address")
    parser.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args()
    amqp_uri = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
    maildir = Path(args.maildir) if args.maildir else None
    before = set(maildir.glob("*.eml")) if maildir and maildir.exists() else set()
    deadline = time.monotonic() + args.timeout
    outcome = publish_and_follow(amqp_uri, {**SAMPLE, "email": args.recipient}, deadline)
    if outcome is None or outcome["event_type"] != "notification_sent":
        what = "no outcome" if outcome is None else outcome["event_type"]
        print(f"\nThe receipt was not sent ({what} within {args.timeout:.0f}s).")
        return 1
    if maildir is None:
        server = f"{os.environ.get('SMTP_HOST', '127.0.0.1')}:{os.environ.get('SMTP_PORT', '8025')}"
        print(
            f"\nThe receipt for {args.recipient} was handed to the SMTP server at {server}, as "
            f"notification_sent shows (Message-ID {message_id(outcome['data']['notification_id'])})."
        )
        return 0
    while time.monotonic() < deadline:
        new = set(maildir.glob("*.eml")) - before if maildir.exists() else set()
        if new:
            mail = email.message_from_bytes(sorted(new)[0].read_bytes(), policy=email.policy.default)
            print(f"\nThe SMTP server received, for {mail['To']} ({mail['Message-ID']}):")
            print(f"Subject: {mail['Subject']}\n")
            print(mail.get_body(preferencelist=("plain",)).get_content())  # plain text + HTML
            return 0
        time.sleep(0.1)
    print("\nnotification_sent, but no receipt arrived in the SMTP sink's folder in time")
    return 1


def publish_and_follow(amqp_uri, data, deadline):
    """Publish the intake and print every event that follows; returns the intake's outcome (its
    notification_sent, notification_failed or registration_rejected), or None at the deadline."""
    key = f"demo-{uuid.uuid4().hex[:12]}"
    envelope = {
        "event_id": str(uuid.uuid4()),
        "event_type": "registration_requested",
        "schema_version": 1,
        "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "source": "intake",
        "data": {**data, "idempotency_key": key},
    }
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        queue = tap(channel)
        intake = Exchange("intake.events", type="topic", durable=True, channel=channel)
        intake.declare()
        producer = connection.Producer(channel)
        producer.publish(
            json.dumps(envelope),
            exchange=intake,
            routing_key="registration_requested",
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=2,
        )
        print(f"1. intake      -> registration_requested  (idempotency_key {key}, postal code {data['postal_code']})")
        step, ours = 2, {key}  # the idempotency key, then the registration id too
        while time.monotonic() < deadline:
            message = queue.get(no_ack=True)
            if message is None:
                time.sleep(0.05)
                continue
            event = json.loads(message.body)
            shown = {k: v for k, v in event["data"].items() if k in SHOWN}
            print(f"{step}. {event['source']:<12} -> {event['event_type']:<24} {json.dumps(shown, ensure_ascii=False)}")
            step += 1
            if event["data"].get("idempotency_key") == key and "registration_id" in event["data"]:
                ours.add(event["data"]["registration_id"])
            mine = ours & {event["data"].get("idempotency_key"), event["data"].get("registration_id")}
            if event["event_type"] in OUTCOMES and mine:
                return event
    return None


if __name__ == "__main__":
    sys.exit(main())
