"""marshmallow schemas of the gateway's HTTP payloads: they validate requests and generate
/openapi.json. The intake and contact point schemas are reused from their owners, not copied."""

from marshmallow import Schema, fields, validate

from services.common.contracts import (
    GroupClosed,
    GroupRejected,
    Id,
    RegistrationErased,
    RegistrationWithdrawn,
    StrictSchema,
    Timestamp,
)

from .auth import ROLES


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


class TokenOutput(Schema):
    token = fields.String()


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


class FigureRow(Schema):
    area = fields.String()
    county_number = fields.String(allow_none=True)
    waiting = fields.Integer(allow_none=True)
    in_group = fields.Integer(allow_none=True)
    groups_proposed = fields.Integer(allow_none=True)
    groups_confirmed = fields.Integer(allow_none=True)
    groups_running = fields.Integer(allow_none=True)
    coverage_percent = fields.Float(allow_none=True)


class Figures(Schema):
    rows = fields.List(fields.Nested(FigureRow))
    suppressed_below = fields.Integer()


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
