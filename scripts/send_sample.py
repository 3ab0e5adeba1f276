"""The demo's walk through the skeleton: publish one `registration_requested` on `intake.events`
with a plain AMQP client, print every event it causes, and the receipt that reaches the SMTP server.

    python scripts/send_sample.py --maildir .run/demo/mail
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

SAMPLE = {
    "name": "Kari",
    "email": "kari@example.no",
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
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args()
    amqp_uri = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
    maildir = Path(args.maildir)
    before = set(maildir.glob("*.eml")) if maildir.exists() else set()
    key = f"demo-{uuid.uuid4().hex[:12]}"
    envelope = {
        "event_id": str(uuid.uuid4()),
        "event_type": "registration_requested",
        "schema_version": 1,
        "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "source": "intake",
        "data": {**SAMPLE, "idempotency_key": key},
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
        print(f"1. intake      -> registration_requested  (idempotency_key {key}, postal code 5003)")
        step, deadline, done = 2, time.monotonic() + args.timeout, False
        while time.monotonic() < deadline and not done:
            message = queue.get(no_ack=True)
            if message is None:
                time.sleep(0.05)
                continue
            event = json.loads(message.body)
            shown = {
                k: v
                for k, v in event["data"].items()
                if k
                in (
                    "registration_id",
                    "contact_point_id",
                    "route_kind",
                    "reason",
                    "template",
                    "channel",
                    "municipality_number",
                    "themes",
                )
            }
            print(f"{step}. {event['source']:<12} -> {event['event_type']:<24} {json.dumps(shown, ensure_ascii=False)}")
            step += 1
            done = event["event_type"] in ("notification_sent", "notification_failed", "registration_rejected")
    while time.monotonic() < deadline:
        new = set(maildir.glob("*.eml")) - before if maildir.exists() else set()
        if new:
            mail = email.message_from_bytes(sorted(new)[0].read_bytes(), policy=email.policy.default)
            print(f"\nThe SMTP server received, for {mail['To']} ({mail['Message-ID']}):")
            print(f"Subject: {mail['Subject']}\n")
            print(mail.get_body(preferencelist=("plain",)).get_content())  # plain text + HTML
            return 0
        time.sleep(0.1)
    print("no receipt arrived in time", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
