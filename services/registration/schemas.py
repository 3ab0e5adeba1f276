"""RPC payload schemas of registration (the intake itself is the contract in services/common)."""

from marshmallow import ValidationError, fields, validate, validates

from services.common.contracts import Cohort, RegistrationRequested, StrictSchema

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
