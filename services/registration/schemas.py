"""RPC payload schemas of registration (the intake itself is the contract in services/common)."""

from marshmallow import ValidationError, fields, validate, validates

from services.common.contracts import (
    CHANNELS,
    MESSAGE_LANGUAGES,
    AccessibilityNeeds,
    Availability,
    Bool,
    Cohort,
    Languages,
    RegistrationRequested,
    StrictSchema,
    Themes,
)

MAX_COHORT_SIZE = 30


class CohortSubmission(StrictSchema):
    """A course cohort handed over together: one cohort id for all, and whether to keep them together."""

    cohort = fields.Nested(Cohort, required=True)
    registrations = fields.List(
        fields.Nested(RegistrationRequested), required=True, validate=validate.Length(1, MAX_COHORT_SIZE)
    )

    @validates("registrations")
    def _no_cohort_of_their_own(self, registrations, **kwargs):
        if any("cohort" in registration for registration in registrations):
            raise ValidationError("The cohort is given once, for the whole submission, not per registration.")


class PreferenceChanges(StrictSchema):
    """What a person may change on their page: any subset, each field as the intake checks it."""

    themes = Themes()
    languages = Languages()
    availability = Availability()
    digital_ok = Bool()
    accessibility_needs = AccessibilityNeeds()
    not_in_own_municipality = Bool()
    open_to_mixed = Bool()
    message_language = fields.String(validate=validate.OneOf(MESSAGE_LANGUAGES, error="Must be one of: {choices}."))
    preferred_channel = fields.String(validate=validate.OneOf(CHANNELS, error="Must be one of: {choices}."))
