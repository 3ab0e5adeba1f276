"""The referrer's page: refer a person with attested consent, and follow the referrals' statuses."""

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from .. import domain
from ..context import Context
from ..pages import field_messages, render, send_form
from ..ports import Ports
from ..routes import route
from .public import idempotency_key
from .registrations import register


@route("GET", "/referrer", roles=("referrer",), kind="page", audit="referrer", purpose="follow referrals")
def referrer_home(ports: Ports, ctx: Context) -> Response:
    return render(
        ctx,
        "referrer.html",
        statuses=ports.registration.referral_statuses(ctx.actor),
        form={"idempotency_key": idempotency_key("ref")},
        errors={},
        done=ctx.request.args.get("done"),
        **domain.register_choices(),
    )


@route("POST", "/referrer", roles=("referrer",), kind="page")
def referrer_submit(ports: Ports, ctx: Context) -> Response:
    form = ctx.request.form
    referral = {"referrer_id": ctx.actor["referrer_id"], "organisation": form.get("organisation", "").strip()}
    payload, errors = domain.intake_from_form(form, ctx.lang, ports.clock.now(), idempotency_key("web"), referral)
    if form.get("consent_attested") != "yes":
        errors["consent_attested"] = ["consent_attested_required"]
    result, errors = send_form(field_messages(errors), lambda: register(ports, ctx, payload))
    if result is not None:
        return redirect("/referrer?done=1", code=303)
    return render(
        ctx,
        "referrer.html",
        status=400,
        statuses=None,
        form=form.to_dict(),
        errors=errors,
        chosen=domain.chosen(form),
        **domain.register_choices(),
    )
