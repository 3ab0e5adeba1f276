"""RPC payload schemas of registration (the intake itself is the contract in services/common)."""

from marshmallow import ValidationError, fields, validate, validates

from services.common.contracts import (
    CHANNELS,
    MESSAGE_LANGUAGES,
    AccessibilityNeeds,
    Availability,
    Bool,
    Cohort,
    CohortSlot,
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


class NewCohort(StrictSchema):
    """A course cohort a course leader (a referrer) creates: its members register themselves by code."""

    contact_point_id = fields.String(required=True, validate=validate.Length(1, 64))
    expected_size = fields.Integer(required=True, strict=True, validate=validate.Range(4, 12))
    slot = fields.Nested(CohortSlot, required=True)
    keep_together = Bool(required=True)

    @validates("slot")
    def _time_within_the_part_of_day(self, slot, **kwargs):
        if "start_time" not in slot or "part_of_day" not in slot:
            return  # the slot's own fields failed, and say why
        low, high = PARTS_OF_DAY_HOURS[slot["part_of_day"]]
        if not low <= slot["start_time"] < high:
            raise ValidationError({"start_time": ["outside_part_of_day"]})


#: The clock times each part of day covers, as "HH:MM" (compared as text).
PARTS_OF_DAY_HOURS = {"morning": ("06:00", "12:00"), "afternoon": ("12:00", "17:00"), "evening": ("17:00", "23:00")}
