"""marshmallow schemas of the gateway's HTTP payloads: they validate requests and generate
/openapi.json. The intake and contact point schemas are reused from their owners, not copied."""

from marshmallow import Schema, fields, validate

from services.common.contracts import (
    CONTACT_PURPOSES,
    WEEKDAYS,
    GroupClosed,
    GroupRejected,
    Id,
    RegistrationErased,
    RegistrationWithdrawn,
    StrictSchema,
    Timestamp,
)

from . import figures
from .auth import ROLES
from .domain import PURPOSES


def _reason_of(event_schema):
    """The reason field of an event contract, so the HTTP body accepts exactly what the event carries."""
    return event_schema._declared_fields["reason"]


class AccountInput(StrictSchema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    name = fields.String(required=True, validate=validate.Length(1, 100))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    contact_point_ids = fields.List(Id(), load_default=list)
    referrer_id = fields.String(validate=validate.Length(1, 64))
    password = fields.String(
        required=True, load_only=True, validate=validate.Length(12, 200, error="Use at least 12 characters.")
    )


class AccountOutput(Schema):
    _id = fields.String(data_key="account_id")
    email = fields.String()
    name = fields.String()
    role = fields.String()
    contact_point_ids = fields.List(fields.String())
    referrer_id = fields.String(allow_none=True)


class LoginInput(StrictSchema):
    email = fields.String(required=True, validate=validate.Length(1, 254))
    password = fields.String(required=True, validate=validate.Length(1, 200))


class SessionOutput(Schema):
    account = fields.Nested(AccountOutput)
    csrf_token = fields.String()


class TokenInput(StrictSchema):
    account_id = Id(required=True)
    label = fields.String(required=True, validate=validate.Length(1, 100))
    expires_in_days = fields.Integer(validate=validate.Range(1, 365), strict=True)


class TokenOutput(Schema):
    token = fields.String()
    token_id = fields.String()


class TokenRecord(Schema):
    token_id = fields.String()
    label = fields.String()
    account_id = fields.String()
    created_at = fields.DateTime()
    expires_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)


class Created(Schema):
    registration_id = fields.String()
    created = fields.Boolean()


class WithdrawInput(StrictSchema):
    reason = _reason_of(RegistrationWithdrawn)


class EraseInput(StrictSchema):
    reason = _reason_of(RegistrationErased)


class ConfirmInput(StrictSchema):
    meeting_place_id = Id(required=True)
    first_meeting_at = Timestamp(required=True)
    starter_id = Id(required=True)
    handover_planned_on = fields.Date()  # YYYY-MM-DD; when the starter means to hand over
    override_reason = fields.String(validate=validate.Length(1, 300))  # to confirm against a rule of matching


class Schedule(StrictSchema):
    weekday = fields.String(required=True, validate=validate.OneOf(WEEKDAYS))
    start_time = fields.String(
        required=True, validate=validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="Use HH:MM, 24-hour clock.")
    )
    every = fields.String(required=True, validate=validate.OneOf(("week", "other_week")))
    meeting_place_id = Id(required=True)


class HandoverInput(StrictSchema):
    checkin_registration_ids = fields.List(Id(), required=True, validate=validate.Length(max=2))
    schedule = fields.Nested(Schedule, required=True)


class CheckinSent(Schema):
    checkin_id = fields.String()
    due_at = fields.String()


class AdvanceInput(StrictSchema):
    state = fields.String(required=True, validate=validate.OneOf(("started", "self_run")))


class RejectInput(StrictSchema):
    reason = _reason_of(GroupRejected)


class CloseInput(StrictSchema):
    reason = _reason_of(GroupClosed)


class LeaveInput(StrictSchema):
    registration_id = Id(required=True)


class AcquaintancesInput(StrictSchema):
    registration_id_a = Id(required=True)
    registration_id_b = Id(required=True)


class ContactPointQuery(StrictSchema):
    municipality_number = fields.String(validate=validate.Regexp(r"^\d{4}$"))
    county_number = fields.String(validate=validate.Regexp(r"^\d{2}$"))
    kind = fields.String(validate=validate.Length(1, 64))


class MapQuery(StrictSchema):
    lang = fields.String(validate=validate.OneOf(("nb", "nn", "en")))


class PurposeQuery(StrictSchema):
    """Why an audited read happens: one of the reasons the pages offer (not free text, not a header)."""

    purpose = fields.String(validate=validate.OneOf(PURPOSES))


class AuditQuery(StrictSchema):
    subject_id = fields.String(validate=validate.Length(1, 64))


class PostalCodePath(StrictSchema):
    postal_code = fields.String(required=True, validate=validate.Regexp(r"^\d{4}$", error="Must be 4 digits."))


class ReferralStatus(Schema):
    registration_id = fields.String()
    status = fields.String()
    updated_at = fields.String()


class AuditEntry(Schema):
    at = fields.DateTime()
    account_id = fields.String(allow_none=True)
    role = fields.String()
    action = fields.String()
    subject_kind = fields.String()
    subject_id = fields.String()
    purpose = fields.String()
    outcome = fields.String()


#: Figures that are not whole counts: waiting days (a median may end in .5) and percentages.
_DECIMALS = ("median_waiting_days", "waiting_now_median_days", "coverage_percent", "population_coverage_percent")


def _figure_field(column: str) -> fields.Field:
    if column in ("area", "county_number", "period", "contact_point_id"):
        return fields.String(allow_none=True)
    if column in _DECIMALS or column.startswith("share_"):
        return fields.Float(allow_none=True)
    return fields.Integer(allow_none=True)


FigureRow = Schema.from_dict({c: _figure_field(c) for c in figures.COLUMNS}, name="FigureRow")
ContactPointFigureRow = Schema.from_dict(
    {c: _figure_field(c) for c in figures.CONTACT_POINT_COLUMNS}, name="ContactPointFigureRow"
)


class Figures(Schema):
    period = fields.String()
    rows = fields.List(fields.Nested(FigureRow))
    suppressed_below = fields.Integer()
    rounded_to = fields.Integer()


class ContactPointFigures(Schema):
    contact_point_id = fields.String()
    year = fields.String()
    rows = fields.List(fields.Nested(ContactPointFigureRow))
    suppressed_below = fields.Integer()
    rounded_to = fields.Integer()


class PeriodQuery(StrictSchema):
    period = fields.String(
        validate=validate.Regexp(figures.PERIOD, error="Use a year (2026), a quarter (2026-Q4) or a month (2026-11).")
    )


class YearQuery(StrictSchema):
    year = fields.String(validate=validate.Regexp(r"^\d{4}$", error="Use a year such as 2026."))


class QueueQuery(StrictSchema):
    reference = fields.String(
        validate=validate.Regexp(r"^[0-9A-Fa-f-]{1,36}$", error="Give the reference from the e-mail (8 characters).")
    )


class QueuedPerson(Schema):
    registration_id = fields.String()
    reference = fields.String()
    registered_at = fields.String()
    waited_days = fields.Integer()
    reason = fields.String()
    reason_code = fields.String()
    municipality_number = fields.String(allow_none=True)
    county_number = fields.String(allow_none=True)
    area = fields.String(allow_none=True)
    role = fields.String(allow_none=True)
    language = fields.String(allow_none=True)
    digital_ok = fields.Boolean()
    not_in_own_municipality = fields.Boolean()
    last_contact = fields.Dict(allow_none=True)


class AssignInput(StrictSchema):
    contact_point_id = Id(required=True)


class ContactInput(StrictSchema):
    purpose = fields.String(required=True, validate=validate.OneOf(CONTACT_PURPOSES))


class ErrorBody(Schema):
    code = fields.String()
    message = fields.String()
    # The API's field is named 'fields', which shadows marshmallow's own attribute.
    fields = fields.Dict()  # type: ignore[assignment]


class Error(Schema):
    error = fields.Nested(ErrorBody)


class Health(Schema):
    service = fields.String()
    status = fields.String()
    store = fields.String()
    broker = fields.String()
