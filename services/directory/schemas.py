"""RPC payloads of the directory, validated with field-level errors.

A contact point's shape is `services.common.contact_point_input` (the gateway checks a body with
it too). The directory's subclasses below add the checks against the reference data, on the same
fields, so an unknown municipality number or postal code is reported on its own field
(`{"municipalities": {"2": ["Unknown municipality number."]}}`) instead of failing the whole call.
"""

from marshmallow import ValidationError, fields, validates_schema

from services.common import contact_point_input as shape
from services.common.contact_point_input import StrictSchema, one_of
from services.common.contracts import CONTACT_POINT_KINDS, Bool

from .reference import reference_data


def _known_municipality(number):
    if number not in reference_data().municipalities:
        raise ValidationError("Unknown municipality number.")


def _known_postal_code(code):
    if code not in reference_data().postal_codes:
        raise ValidationError("Unknown postal code.")


class Address(shape.Address):
    postal_code = shape.PostalCode(_known_postal_code, required=True)


class MeetingPlace(shape.MeetingPlace):
    address = fields.Nested(Address, load_default=None, allow_none=True)


class ContactPointInput(shape.ContactPointInput):
    """The contact point's shape, its municipalities and postal codes known to the reference data."""

    municipality_number = shape.MunicipalityNumber(_known_municipality, required=True)
    municipalities = shape.Municipalities(_known_municipality)
    address = fields.Nested(Address, load_default=None)
    meeting_places = shape.MeetingPlaces(MeetingPlace)


class ContactPointQuery(StrictSchema):
    """The filters of list_contact_points; all optional."""

    municipality_number = shape.MunicipalityNumber(_known_municipality, load_default=None, allow_none=True)
    county_number = fields.String(load_default=None, allow_none=True)
    kind = fields.String(load_default=None, allow_none=True, validate=one_of(CONTACT_POINT_KINDS))

    @validates_schema
    def _known_county(self, data, **kwargs):
        county = data.get("county_number")
        if county is not None and county not in reference_data().counties:
            raise ValidationError("Unknown county number.", "county_number")


class RoutePreferences(StrictSchema):
    not_in_own_municipality = Bool(load_default=False)
    digital_ok = Bool(load_default=False)
