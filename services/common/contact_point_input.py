"""The shape of a contact point as the directory takes it: the body the gateway checks before it
forwards a contact point, and the base of the directory's own schema.

Only the shape. A municipality number or a postal code is checked to be four digits here, not
against Norway's registers: the directory's subclasses add that check (`known=`), so the gateway
never loads the directory's reference data. The directory answers an unknown number with an
InvalidInput on the same field.
"""

import re
from collections.abc import Callable, Sequence
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from .contracts import ACCESSIBILITY_FEATURES, CONTACT_POINT_KINDS, MEETING_PLACE_KINDS, WEEKDAYS, Bool, Languages
from .discretion import theme_words_in

STAFF_ROLES = ("starter", "coordinator", "contact_person", "manager")
DEFAULT_MIN_SIZE, DEFAULT_MAX_SIZE = 5, 8
#: What messages to participants show as their sender unless the contact point names another:
#: a name that reveals no theme, whatever the contact point is (a Nok. centre, a user organisation).
DEFAULT_SENDER_NAME = "Flokk – selvhjelpsgrupper"
NORWAY_BOUNDS = {"lat": (57.5, 71.5), "lon": (4.0, 31.5)}  # mainland Norway with a margin
PHONE = re.compile(r"^\+47\d{8}$")
CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

#: What contact point staff may change of their own contact point (issue 17). Everything else
#: (kind, municipality_number, municipalities, coordinates, active, digital_groups, min_size,
#: max_size, organisation, parent_contact_point_id, ...) decides routing or capacity nationwide,
#: and only the national office changes it.
STAFF_FIELDS = (
    "name",
    "address",
    "email",
    "phone",
    "opening_hours",
    "languages",
    "accessibility",
    "meeting_places",
    "staff",
    "sender_name",
)
#: The code of a field staff may not change (the gateway words it).
NATIONAL_ONLY = "national_only"
#: The code of a sender name that names a theme.
THEMED_SENDER = "themed_sender_name"


def national_only_changes(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, list[str]]:
    """A field error for each field of `changes` outside STAFF_FIELDS whose value is not the
    current one: what a staff member tried to change and may not."""
    return {
        field: [NATIONAL_ONLY]
        for field, value in changes.items()
        if field not in STAFF_FIELDS and field != "contact_point_id" and value != current.get(field)
    }


#: A register's check of a well-formed code: raises ValidationError when the code is unknown.
Known = Callable[[str], None]


def discreet_sender(name: str) -> None:
    """A sender name tells every reader of a message who sent it: it may not name a theme (the
    words of services.common.discretion, the same the message templates are tested against)."""
    if theme_words_in(name):
        raise ValidationError(THEMED_SENDER)


def one_of(choices: Sequence[str]) -> validate.OneOf:
    return validate.OneOf(choices, error="Must be one of: {choices}.")


def four_digits(what: str, known: Known | None = None) -> Callable[[str], None]:
    """A validator: four digits, then (when given) the register's `known` check, so a malformed
    code gets one message and only a well-formed one is looked up."""

    def check(code: str) -> None:
        if not re.fullmatch(r"\d{4}", code):
            raise ValidationError(f"Must be a 4-digit {what}.")
        if known is not None:
            known(code)

    return check


def unique(key: str | None = None, what: str = "value") -> Callable[[list[Any]], None]:
    def check(items: list[Any]) -> None:
        keys = [item[key] if key else item for item in items]
        if len(keys) != len(set(keys)):
            raise ValidationError(f"Each {what} may appear once.")

    return check


def MunicipalityNumber(known: Known | None = None, **kw: Any) -> fields.String:
    return fields.String(validate=four_digits("municipality number", known), **kw)


def Municipalities(known: Known | None = None) -> fields.List:
    """The municipalities a contact point serves: at least one, each once."""
    return fields.List(
        MunicipalityNumber(known), required=True, validate=[validate.Length(min=1), unique(what="municipality")]
    )


def PostalCode(known: Known | None = None, **kw: Any) -> fields.String:
    return fields.String(validate=four_digits("postal code", known), **kw)


def MeetingPlaces(place: type[Schema]) -> fields.List:
    return fields.List(fields.Nested(place), load_default=list, validate=unique("meeting_place_id", "meeting_place_id"))


Slug = lambda **kw: fields.String(
    validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,63}$", error="Use 2-64 lower-case letters, digits and hyphens."),
    **kw,
)
Accessibility = lambda **kw: fields.List(
    fields.String(validate=one_of(ACCESSIBILITY_FEATURES)), validate=unique(what="feature"), **kw
)
OrganisationalEmail = lambda **kw: fields.Email(validate=validate.Length(max=254), **kw)


class StrictSchema(Schema):
    class Meta:
        unknown = "raise"


class Address(StrictSchema):
    street = fields.String(required=True, validate=validate.Length(1, 200))
    postal_code = PostalCode(required=True)
    city = fields.String(validate=validate.Length(1, 100))


class Coordinates(StrictSchema):
    lat = fields.Float(required=True, validate=validate.Range(*NORWAY_BOUNDS["lat"], error="Must lie in Norway."))
    lon = fields.Float(required=True, validate=validate.Range(*NORWAY_BOUNDS["lon"], error="Must lie in Norway."))


class OpeningHours(StrictSchema):
    weekday = fields.String(required=True, validate=one_of(WEEKDAYS))
    opens = fields.String(required=True, validate=validate.Regexp(CLOCK, error="Use HH:MM, 24-hour clock."))
    closes = fields.String(required=True, validate=validate.Regexp(CLOCK, error="Use HH:MM, 24-hour clock."))

    @validates_schema
    def _opens_before_it_closes(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["opens"] >= data["closes"]:
            raise ValidationError("Must be later than opens.", "closes")


OpeningHoursList = lambda **kw: fields.List(fields.Nested(OpeningHours), load_default=list, **kw)


VIDEO_URL = re.compile(r"^https://[^\s/?#]+\.[^\s/?#]+(?:[/?#]\S*)?$")


class MeetingPlace(StrictSchema):
    """A room (`physical`, with an address) or a video meeting (`digital`, with a `video_url` and
    no address). The video link is for the group's members only: the directory never shows it,
    and keeps the one it has when a change leaves it out."""

    meeting_place_id = Slug(required=True)
    kind = fields.String(load_default="physical", validate=one_of(MEETING_PLACE_KINDS))
    name = fields.String(required=True, validate=validate.Length(1, 200))
    address = fields.Nested(Address, load_default=None, allow_none=True)
    video_url = fields.String(
        load_default=None,
        allow_none=True,
        validate=[
            validate.Length(max=500),
            validate.Regexp(VIDEO_URL, error="Must be an https:// address of the video meeting."),
        ],
    )
    capacity = fields.Integer(required=True, strict=True, validate=validate.Range(2, 500))
    accessibility = Accessibility(load_default=list)
    opening_hours = OpeningHoursList()

    @validates_schema
    def _address_or_video_link(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("kind", "physical") == "physical":
            if data.get("address") is None:
                raise ValidationError("A physical meeting place needs its address.", "address")
            if data.get("video_url") is not None:
                raise ValidationError("Only a digital meeting place has a video link.", "video_url")
        elif data.get("address") is not None:
            raise ValidationError("A digital meeting place has no address.", "address")


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
    role = fields.String(required=True, validate=one_of(STAFF_ROLES))
    email = OrganisationalEmail(required=True)


class ContactPointInput(StrictSchema):
    """A contact point. The skeleton's minimal payload (id, kind, name, municipality_number,
    municipalities) stays valid: address, e-mail and the rest are optional."""

    contact_point_id = Slug(required=True)
    kind = fields.String(required=True, validate=one_of(CONTACT_POINT_KINDS))
    name = fields.String(required=True, validate=validate.Length(1, 200))
    organisation = fields.String(load_default=None, validate=validate.Length(1, 200))
    #: The sender of messages to participants (e-mail display name, SMS text): never a theme.
    sender_name = fields.String(load_default=DEFAULT_SENDER_NAME, validate=[validate.Length(1, 60), discreet_sender])
    municipality_number = MunicipalityNumber(required=True)
    municipalities = Municipalities()
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
    meeting_places = MeetingPlaces(MeetingPlace)
    staff = fields.List(fields.Nested(Staff), load_default=list, validate=unique("staff_id", "staff_id"))
    active = Bool(load_default=True)
    example = Bool(load_default=False)
    #: The contact point this one belongs to, if the directory records one (a district office and
    #: the national office, say); HSDS exports it as the organisation's parent.
    parent_contact_point_id = Slug(load_default=None, allow_none=True)

    @validates_schema
    def _sizes_in_order(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("min_size", DEFAULT_MIN_SIZE) > data.get("max_size", DEFAULT_MAX_SIZE):
            raise ValidationError("Must not be smaller than min_size.", "max_size")

    @validates_schema
    def _not_its_own_parent(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("parent_contact_point_id") and data["parent_contact_point_id"] == data.get("contact_point_id"):
            raise ValidationError("A contact point cannot be its own parent.", "parent_contact_point_id")

    @post_load
    def _organisation_defaults_to_name(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """A contact point that is its own organisation (a LINK centre, say) need not name it twice."""
        return {**data, "organisation": data["organisation"] or data["name"]}
