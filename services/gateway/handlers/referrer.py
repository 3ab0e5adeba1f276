"""The referrer's page: refer a person with attested consent, follow the referrals' statuses, and
withdraw a referral at the person's wish (after a confirming step). The form's questions are
worded for the referrer, who answers for the person (the `ref` variant of the texts)."""

from typing import Any

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from .. import domain
from ..context import Context
from ..pages import field_messages, render, send_form
from ..ports import Ports
from ..routes import route
from .public import consent_values, idempotency_key
from .registrations import register

REFERRER = ("referrer",)
A_REFERRAL = "/referrer/<registration_id>/withdraw"


def _page(ports: Ports, ctx: Context, status: int = 200, **values: Any) -> Response:
    return render(
        ctx,
        "referrer.html",
        status=status,
        variant="ref",
        referring=True,
        **domain.register_choices(),
        **consent_values(ports, ctx),
        **values,
    )


@route("GET", "/referrer", roles=REFERRER, kind="page", audit="referrer", purpose="follow referrals")
def referrer_home(ports: Ports, ctx: Context) -> Response:
    return _page(
        ports,
        ctx,
        statuses=ports.registration.referral_statuses(ctx.actor),
        form={"idempotency_key": idempotency_key("ref")},
        errors={},
        done=ctx.request.args.get("done"),
        request_ref=ctx.request.args.get("ref", "")[:8],
    )


@route("POST", "/referrer", roles=REFERRER, kind="page")
def referrer_submit(ports: Ports, ctx: Context) -> Response:
    form = ctx.request.form
    referral = {"referrer_id": ctx.actor["referrer_id"], "organisation": form.get("organisation", "").strip()}
    payload, errors = domain.intake_from_form(form, ctx.lang, ports.clock.now(), idempotency_key("web"), referral)
    if form.get("consent_attested") != "yes":
        errors["consent_attested"] = ["consent_attested_required"]
    result, errors = send_form(field_messages(errors), lambda: register(ports, ctx, payload))
    if result is not None:
        return redirect("/referrer?done=sent", code=303)
    return _page(ports, ctx, status=400, statuses=None, form=form.to_dict(), errors=errors, chosen=domain.chosen(form))


@route("GET", A_REFERRAL, roles=REFERRER, kind="page")
def referral_withdraw_confirm(ports: Ports, ctx: Context, registration_id: str) -> Response:
    """What withdrawing a referral means, and a way back: nothing is read yet."""
    return render(
        ctx,
        "confirm.html",
        action="withdraw_referral",
        target=f"/referrer/{registration_id}/withdraw",
        back="/referrer",
        subject_ref=registration_id[:8],
    )


@route("POST", A_REFERRAL, roles=REFERRER, kind="page", audit="registration", purpose="withdraw referral")
def referral_withdraw(ports: Ports, ctx: Context, registration_id: str) -> Response:
    """The person asked to withdraw; registration checks that the referral is this referrer's."""
    ports.registration.withdraw(registration_id, ctx.actor, "referrer")
    return redirect(f"/referrer?done=withdrawn&ref={registration_id[:8]}", code=303)
