"""RPC payloads of the directory, validated with field-level errors.

Municipality numbers and postal codes are checked against the reference data here, so an unknown
one is reported on its own field (`{"municipalities": {"2": ["Unknown municipality number."]}}`)
instead of failing the whole call.
"""

import re

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from services.common.contracts import (
    ACCESSIBILITY_FEATURES,
    CONTACT_POINT_KINDS,
    WEEKDAYS,
    Bool,
    Languages,
)

from .reference import reference_data

STAFF_ROLES = ("starter", "coordinator", "contact_person", "manager")
DEFAULT_MIN_SIZE, DEFAULT_MAX_SIZE = 5, 8
NORWAY_BOUNDS = {"lat": (57.5, 71.5), "lon": (4.0, 31.5)}  # mainland Norway with a margin
PHONE = re.compile(r"^\+47\d{8}$")
CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _one_of(choices):
    return validate.OneOf(choices, error="Must be one of: {choices}.")


def _known_municipality(number):
    if not re.fullmatch(r"\d{4}", number):
        raise ValidationError("Must be a 4-digit municipality number.")
    if number not in reference_data().municipalities:
        raise ValidationError("Unknown municipality number.")


def _known_postal_code(code):
    if not re.fullmatch(r"\d{4}", code):
        raise ValidationError("Must be a 4-digit postal code.")
    if code not in reference_data().postal_codes:
        raise ValidationError("Unknown postal code.")


def _unique(key=None, what="value"):
    def check(items):
        keys = [item[key] if key else item for item in items]
        if len(keys) != len(set(keys)):
            raise ValidationError(f"Each {what} may appear once.")

    return check


Slug = lambda **kw: fields.String(
    validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,63}$", error="Use 2-64 lower-case letters, digits and hyphens."),
    **kw,
)
KnownMunicipality = lambda **kw: fields.String(validate=_known_municipality, **kw)
Accessibility = lambda **kw: fields.List(
    fields.String(validate=_one_of(ACCESSIBILITY_FEATURES)), validate=_unique(what="feature"), **kw
)
OrganisationalEmail = lambda **kw: fields.Email(validate=validate.Length(max=254), **kw)


class StrictSchema(Schema):
    class Meta:
        unknown = "raise"


class Address(StrictSchema):
    street = fields.String(required=True, validate=validate.Length(1, 200))
    postal_code = fields.String(required=True, validate=_known_postal_code)
    city = fields.String(validate=validate.Length(1, 100))


class Coordinates(StrictSchema):
    lat = fields.Float(required=True, validate=validate.Range(*NORWAY_BOUNDS["lat"], error="Must lie in Norway."))
    lon = fields.Float(required=True, validate=validate.Range(*NORWAY_BOUNDS["lon"], error="Must lie in Norway."))


class OpeningHours(StrictSchema):
    weekday = fields.String(required=True, validate=_one_of(WEEKDAYS))
    opens = fields.String(required=True, validate=validate.Regexp(CLOCK, error="Use HH:MM, 24-hour clock."))
    closes = fields.String(required=True, validate=validate.Regexp(CLOCK, error="Use HH:MM, 24-hour clock."))

    @validates_schema
    def _opens_before_it_closes(self, data, **kwargs):
        if data["opens"] >= data["closes"]:
            raise ValidationError("Must be later than opens.", "closes")


OpeningHoursList = lambda **kw: fields.List(fields.Nested(OpeningHours), load_default=list, **kw)


class MeetingPlace(StrictSchema):
    meeting_place_id = Slug(required=True)
    name = fields.String(required=True, validate=validate.Length(1, 200))
    address = fields.Nested(Address, required=True)
    capacity = fields.Integer(required=True, strict=True, validate=validate.Range(2, 500))
    accessibility = Accessibility(load_default=list)
    opening_hours = OpeningHoursList()


class Staff(StrictSchema):
    """A contact person: first name and role only, and the organisation's e-mail address."""

    staff_id = Slug(required=True)
    first_name = fields.String(
        required=True,
        validate=[
            validate.Length(1, 50),
            validate.Regexp(r"^\S+$", error="Give the first name only, without a surname."),
        ],
    )
    role = fields.String(required=True, validate=_one_of(STAFF_ROLES))
    email = OrganisationalEmail(required=True)


class ContactPointInput(StrictSchema):
    """A contact point. The skeleton's minimal payload (id, kind, name, municipality_number,
    municipalities) stays valid: address, e-mail and the rest are optional."""

    contact_point_id = Slug(required=True)
    kind = fields.String(required=True, validate=_one_of(CONTACT_POINT_KINDS))
    name = fields.String(required=True, validate=validate.Length(1, 200))
    organisation = fields.String(load_default=None, validate=validate.Length(1, 200))
    municipality_number = KnownMunicipality(required=True)
    municipalities = fields.List(
        KnownMunicipality(), required=True, validate=[validate.Length(min=1), _unique(what="municipality")]
    )
    address = fields.Nested(Address, load_default=None)
    coordinates = fields.Nested(Coordinates, load_default=None)
    email = OrganisationalEmail(load_default=None)
    phone = fields.String(
        load_default=None, validate=validate.Regexp(PHONE, error="Must be a Norwegian number: +47 and 8 digits.")
    )
    opening_hours = OpeningHoursList()
    languages = Languages(load_default=lambda: ["nb"])
    accessibility = Accessibility(load_default=list)
    digital_groups = Bool(load_default=False)
    min_size = fields.Integer(load_default=DEFAULT_MIN_SIZE, strict=True, validate=validate.Range(4, 8))
    max_size = fields.Integer(load_default=DEFAULT_MAX_SIZE, strict=True, validate=validate.Range(4, 12))
    meeting_places = fields.List(
        fields.Nested(MeetingPlace), load_default=list, validate=_unique("meeting_place_id", "meeting_place_id")
    )
    staff = fields.List(fields.Nested(Staff), load_default=list, validate=_unique("staff_id", "staff_id"))
    active = Bool(load_default=True)
    example = Bool(load_default=False)

    @validates_schema
    def _sizes_in_order(self, data, **kwargs):
        if data.get("min_size", DEFAULT_MIN_SIZE) > data.get("max_size", DEFAULT_MAX_SIZE):
            raise ValidationError("Must not be smaller than min_size.", "max_size")

    @post_load
    def _organisation_defaults_to_name(self, data, **kwargs):
        """A contact point that is its own organisation (a LINK centre, say) need not name it twice."""
        return {**data, "organisation": data["organisation"] or data["name"]}


class ContactPointQuery(StrictSchema):
    """The filters of list_contact_points; all optional."""

    municipality_number = KnownMunicipality(load_default=None, allow_none=True)
    county_number = fields.String(load_default=None, allow_none=True)
    kind = fields.String(load_default=None, allow_none=True, validate=_one_of(CONTACT_POINT_KINDS))

    @validates_schema
    def _known_county(self, data, **kwargs):
        county = data.get("county_number")
        if county is not None and county not in reference_data().counties:
            raise ValidationError("Unknown county number.", "county_number")


class RoutePreferences(StrictSchema):
    not_in_own_municipality = Bool(load_default=False)
    digital_ok = Bool(load_default=False)
