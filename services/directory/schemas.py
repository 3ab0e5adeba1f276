"""RPC payloads of the directory, validated with field-level errors."""
from marshmallow import Schema, fields, validate

from services.common.contracts import Bool, ContactPointUpserted, Languages, MunicipalityNumber


class ContactPointInput(Schema):
    contact_point_id = fields.String(required=True, validate=validate.Regexp(
        r"^[a-z0-9][a-z0-9-]{1,63}$", error="Use 2-64 lower-case letters, digits and hyphens."))
    kind = ContactPointUpserted._declared_fields["kind"]
    name = fields.String(required=True, validate=validate.Length(1, 200))
    municipality_number = MunicipalityNumber(required=True)
    municipalities = fields.List(MunicipalityNumber(), required=True, validate=validate.Length(min=1))
    digital_groups = Bool(load_default=False)
    languages = Languages(load_default=lambda: ["nb"])
    min_size = fields.Integer(load_default=5, strict=True, validate=validate.Range(4, 8))
    max_size = fields.Integer(load_default=8, strict=True, validate=validate.Range(4, 12))
    active = Bool(load_default=True)
    example = Bool(load_default=False)
