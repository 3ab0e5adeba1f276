"""Use cases of notification: plain functions over the store, the mailer and the proxies."""
from services.common.envelope import utc_now

from . import domain, templates

RECEIPT = "receipt"


def send_receipt(store, mailer, registration_rpc, directory_rpc, event, unroutable=False):
    """Tell a person their registration arrived and who will be in touch: once per event."""
    registration_id = event.data["registration_id"]
    recipient = {"kind": "participant", "id": registration_id}
    nid = domain.notification_id(event.event_id, recipient, RECEIPT)
    existing = store.delivery(nid)
    if existing is None or existing["status"] != "sent":
        contact = registration_rpc.contact_details(registration_id)
        contact_point = None if unroutable else directory_rpc.get_contact_point(event.data["contact_point_id"])
        channel, address = domain.channel_and_address(contact)
        language = contact["message_language"]
        subject, body = templates.render(RECEIPT, language, {
            "first_name": contact["name"].split()[0], "unroutable": unroutable,
            "contact_point": contact_point["name"] if contact_point else None})
        mailer.send(address, subject, body, domain.message_id(nid), language)  # SMS arrives with issue 6
    else:
        channel, address = existing["channel"], None

    def change(uow):
        if existing is None or existing["status"] != "sent":
            store.record_sent(uow, {"_id": nid, "status": "sent", "registration_id": registration_id,
                                    "template": RECEIPT, "channel": channel,
                                    "address": domain.masked(channel, address), "cause_event_id": event.event_id,
                                    "sent_at": utc_now()})
        uow.emit("notification_sent", {"notification_id": nid, "recipient": recipient,
                                       "registration_id": registration_id, "template": RECEIPT,
                                       "channel": channel, "cause_event_id": event.event_id})

    store.apply(event, change)


def forget(store, event):
    return store.apply(event, lambda uow: store.forget(uow, event.data["registration_id"]))
