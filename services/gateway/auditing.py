"""The gateway's audit log entries (docs/design.md §5): who did what to whom, when, why and with what
outcome; an id, never a name or contact detail. Written by the pipeline for every audited route and
by the use cases that act outside one (signing in and out, accounts and tokens)."""

from typing import Any

from .context import Context
from .ports import Ports


def record(
    ports: Ports,
    ctx: Context,
    action: str,
    subject_kind: str,
    subject_id: Any,
    outcome: str,
    account: dict[str, Any] | None = None,
) -> None:
    """One entry, for `account` (signing in) or else the caller of this request."""
    actor = ctx.actor_of(account) if account is not None else ctx.actor
    ports.store.audit(
        {
            "at": ports.clock.now(),
            "account_id": actor["account_id"],
            "role": actor["role"],
            "action": action,
            "subject_kind": subject_kind,
            "subject_id": str(subject_id or "-")[:64],
            "purpose": actor["purpose"],
            "outcome": outcome,
            "contact_point_ids": actor["contact_point_ids"],
        }
    )
