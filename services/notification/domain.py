"""Notification rules. Pure: no nameko, no pymongo, no SMTP."""
import uuid

NAMESPACE = uuid.UUID("5b0c8a57-3f7e-4d0e-9a51-0f1c0c6b7a11")
MESSAGE_ID_DOMAIN = "flokk.no"


def notification_id(cause_event_id, recipient, template):
    """One notification per (cause event, recipient, template), however often the event arrives."""
    return str(uuid.uuid5(NAMESPACE, f"{cause_event_id}|{recipient['kind']}:{recipient['id']}|{template}"))


def message_id(notification_id_):
    """The deterministic Message-ID of DESIGN §6, so a resend after a crash is recognisable."""
    return f"<{notification_id_}@{MESSAGE_ID_DOMAIN}>"


def mask_email(address):
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_phone(number):
    return f"{number[:3]}*****{number[-2:]}"


def channel_and_address(contact):
    """The person's preferred channel if they gave its address, else the other one."""
    preferred = contact.get("preferred_channel") or "email"
    order = [preferred, "sms" if preferred == "email" else "email"]
    for channel in order:
        address = contact.get("email") if channel == "email" else contact.get("phone")
        if address:
            return channel, address
    raise ValueError("no address for any channel")


def masked(channel, address):
    return mask_email(address) if channel == "email" else mask_phone(address)
