"""notification: messages to participants, staff and referrers; templates; the delivery log."""
