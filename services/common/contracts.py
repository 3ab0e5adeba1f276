"""The event contracts of Flokk (docs/design.md §3): the envelope and one marshmallow schema per event type.

Every service validates `data` with these schemas on dispatch and on receipt, so a contract lives in
exactly one place. Unknown fields are rejected everywhere (marshmallow's default RAISE). Only ids,
municipality numbers, themes and preferences travel here: the one event with contact details is
the incoming `registration_requested`.
"""

import re
from collections.abc import Iterable
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from . import clock

THEMES = (
    "grief",
    "loneliness",
    "anxiety",
    "depression",
    "chronic_illness",
    "chronic_pain",
    "cancer",
    "addiction",
    "eating_disorder",
    "trauma",
    "burnout",
    "separation",
    "job_loss",
    "caregiving",
    "other",
)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PARTS_OF_DAY = ("morning", "afternoon", "evening")
ROLES = ("self", "relative")
ACCESSIBILITY_NEEDS = ("step_free", "hearing_loop", "quiet_room", "other")
MESSAGE_LANGUAGES = ("nb", "nn", "en")
CHANNELS = ("email", "sms")
MINIMUM_AGE = 18


NORWEGIAN_MOBILE = re.compile(r"^\+47[49]\d{7}$")
FOUR_DIGITS = re.compile(r"^\d{4}$")
ISO_639_1 = re.compile(r"^[a-z]{2}$")


def _one_of(choices: Iterable[str]) -> validate.OneOf:
    return validate.OneOf(choices, error="Must be one of: {choices}.")


class StrictSchema(Schema):
    """Rejects unknown fields (marshmallow's default, stated so nobody changes it by accident)."""

    class Meta:
        unknown = "raise"


class _StrictBoolean(fields.Boolean):
    """JSON true/false only: "yes", 1 or "true" are not booleans in a contract (1 == True in Python)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def Bool(**kw: Any) -> fields.Boolean:
    return _StrictBoolean(**kw)


Id = lambda **kw: fields.String(validate=validate.Length(1, 64), **kw)
MunicipalityNumber = lambda **kw: fields.String(
    validate=validate.Regexp(FOUR_DIGITS, error="Must be a 4-digit municipality number."), **kw
)
Timestamp = lambda **kw: fields.AwareDateTime(format="iso", **kw)


class Slot(StrictSchema):
    weekday = fields.String(required=True, validate=_one_of(WEEKDAYS))
    part_of_day = fields.String(required=True, validate=_one_of(PARTS_OF_DAY))


def _unique_slots(slots: list[dict[str, str]]) -> None:
    keys = [(s["weekday"], s["part_of_day"]) for s in slots]
    if len(keys) != len(set(keys)):
        raise ValidationError("Each weekday and part of day may appear once.")


Themes = lambda **kw: fields.List(fields.String(validate=_one_of(THEMES)), validate=validate.Length(1, 5), **kw)
Languages = lambda **kw: fields.List(
    fields.String(validate=validate.Regexp(ISO_639_1, error="Must be an ISO 639-1 code such as 'nb'.")),
    validate=validate.Length(1, 5),
    **kw,
)
Availability = lambda **kw: fields.List(fields.Nested(Slot), validate=[validate.Length(1, 21), _unique_slots], **kw)
AccessibilityNeeds = lambda **kw: fields.List(fields.String(validate=_one_of(ACCESSIBILITY_NEEDS)), **kw)


class Cohort(StrictSchema):
    cohort_id = fields.String(required=True, validate=validate.Length(1, 64))
    keep_together = Bool(required=True)


class Referral(StrictSchema):
    referrer_id = fields.String(required=True, validate=validate.Length(1, 64))
    organisation = fields.String(required=True, validate=validate.Length(1, 200))


class Consent(StrictSchema):
    purpose = fields.String(
        required=True,
        validate=validate.Equal("self_help_group_matching", error="Consent must be for 'self_help_group_matching'."),
    )
    text_version = fields.String(required=True, validate=validate.Length(1, 32))
    given_at = Timestamp(required=True)
    channel = fields.String(required=True, validate=_one_of(("self", "referrer")))


# --- intake ------------------------------------------------------------------------------------


class RegistrationRequested(StrictSchema):
    """The intake contract, fixed because other systems build on it (docs/design.md §3)."""

    idempotency_key = fields.String(required=True, validate=validate.Length(1, 128))
    name = fields.String(required=True, validate=validate.Length(1, 100))
    email = fields.Email(validate=validate.Length(max=254))
    phone = fields.String(
        validate=validate.Regexp(
            NORWEGIAN_MOBILE, error="Must be a Norwegian mobile number: +47 and 8 digits starting with 4 or 9."
        )
    )
    postal_code = fields.String(validate=validate.Regexp(FOUR_DIGITS, error="Must be a 4-digit postal code."))
    municipality_number = MunicipalityNumber()
    role = fields.String(required=True, validate=_one_of(ROLES))
    themes = Themes(required=True)
    languages = Languages(required=True)
    availability = Availability(required=True)
    open_to_mixed = Bool(required=True)
    birth_year = fields.Integer(strict=True, validate=validate.Range(1900, 2100))
    digital_ok = Bool(load_default=False)
    not_in_own_municipality = Bool(load_default=False)
    accessibility_needs = AccessibilityNeeds(load_default=list)
    message_language = fields.String(load_default="nb", validate=_one_of(MESSAGE_LANGUAGES))
    preferred_channel = fields.String(validate=_one_of(CHANNELS))
    free_text = fields.String(validate=validate.Length(max=2000))
    cohort = fields.Nested(Cohort)
    referral = fields.Nested(Referral)
    consent = fields.Nested(Consent, required=True)

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _cross_field_rules(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        """Run even when single fields failed, so every problem is named at once; a field that
        failed on its own keeps its own message."""
        given = original if isinstance(original, dict) else {}
        errors = {}
        if not given.get("email") and not given.get("phone"):
            errors["email"] = ["Give an e-mail address or a mobile number (or both)."]
        if ("postal_code" in given) == ("municipality_number" in given):
            errors["postal_code"] = ["Give exactly one of postal_code and municipality_number."]
        if data.get("birth_year") is not None and clock.today_in_oslo().year - data["birth_year"] < MINIMUM_AGE:
            errors["birth_year"] = [
                "Self-help groups in Flokk are for adults (18 or older). Young people can find help "
                "at ung.no or through the school health service."
            ]
        channel = data.get("preferred_channel")
        if channel == "email" and not given.get("email"):
            errors["preferred_channel"] = ["E-mail was chosen, but no e-mail address was given."]
        if channel == "sms" and not given.get("phone"):
            errors["preferred_channel"] = ["SMS was chosen, but no mobile number was given."]
        consent = data.get("consent") or {}
        if consent.get("channel") == "referrer" and "referral" not in given:
            errors["referral"] = ["Consent attested by a referrer needs the referral."]
        if errors:
            raise ValidationError(errors)


# --- registration ------------------------------------------------------------------------------


class MatchingProfile(StrictSchema):
    """What matching needs to know of a person: no name, no contact details, no free text."""

    registration_id = Id(required=True)
    municipality_number = MunicipalityNumber(required=True, allow_none=True)
    area = fields.String(allow_none=True, load_default=None, validate=_one_of(("svalbard", "jan_mayen")))
    role = fields.String(required=True, validate=_one_of(ROLES))
    themes = Themes(required=True)
    languages = Languages(required=True)
    availability = Availability(required=True)
    open_to_mixed = Bool(required=True)
    birth_year = fields.Integer(allow_none=True, load_default=None)
    digital_ok = Bool(required=True)
    not_in_own_municipality = Bool(required=True)
    accessibility_needs = AccessibilityNeeds(required=True)
    cohort = fields.Nested(Cohort, allow_none=True, load_default=None)
    referred = Bool(required=True)
    registered_at = Timestamp(required=True)


class RegistrationCreated(MatchingProfile):
    idempotency_key = fields.String(required=True, validate=validate.Length(1, 128))


class RegistrationUpdated(MatchingProfile):
    pass


class RegistrationRejected(StrictSchema):
    idempotency_key = fields.String(required=True, allow_none=True, validate=validate.Length(1, 128))
    errors = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True)


class RegistrationWithdrawn(StrictSchema):
    registration_id = Id(required=True)
    reason = fields.String(required=True, validate=_one_of(("person", "referrer", "staff")))


class RegistrationErased(StrictSchema):
    registration_id = Id(required=True)
    reason = fields.String(required=True, validate=_one_of(("request", "consent_withdrawn", "retention")))


class RegistrationPaused(StrictSchema):
    """The person asked for a break: matching holds them out of every pool until `paused_until`
    (00:00 Europe/Oslo), or until registration_resumed comes first."""

    registration_id = Id(required=True)
    paused_until = Timestamp(required=True)


#: Why a person waits again: their pause ran out, they cancelled it, or they came back after withdrawing.
RESUME_REASONS = ("pause_ended", "pause_cancelled", "came_back")


class RegistrationResumed(StrictSchema):
    registration_id = Id(required=True)
    reason = fields.String(required=True, validate=_one_of(RESUME_REASONS))


#: Why two people must not share a group: one listed the other («folk jeg ikke vil møte»), or
#: (issue 14) they may be the same person.
PAIR_REASONS = ("avoid", "possible_duplicate")


def _two_people(ids: list[str]) -> None:
    if len(ids) != 2 or ids[0] == ids[1]:
        raise ValidationError("Must be two different registration ids.")


class RegistrationPair(StrictSchema):
    """Two people never placed together; the ids are sorted, so the pair says nothing of who
    listed whom."""

    registration_ids = fields.List(Id(), required=True, validate=_two_people)
    reason = fields.String(required=True, validate=_one_of(PAIR_REASONS))


class RegistrationPairFlagged(RegistrationPair):
    pass


class RegistrationPairCleared(RegistrationPair):
    pass


class PersonalLinkRequested(StrictSchema):
    """Someone asked for a new personal link for this registration: the address they typed
    never leaves registration, only the id travels."""

    registration_id = Id(required=True)


CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
ClockTime = lambda **kw: fields.String(validate=validate.Regexp(CLOCK_TIME, error="Use HH:MM, 24-hour clock."), **kw)


class CohortSlot(Slot):
    """A course's weekly time: the weekday and part of day matching pools by, and the clock time."""

    start_time = ClockTime(required=True)


class CohortCreated(StrictSchema):
    cohort_id = Id(required=True)
    contact_point_id = Id(required=True)
    expected_size = fields.Integer(required=True, strict=True, validate=validate.Range(4, 12))
    slot = fields.Nested(CohortSlot, required=True)
    deadline = Timestamp(required=True)


#: Why the national office contacted a person it holds in its queue: a fixed list, no free text.
CONTACT_PURPOSES = (
    "clarify_wishes",
    "offer_digital_group",
    "offer_other_contact_point",
    "waiting_update",
    "other_help",
)


class RegistrationContacted(StrictSchema):
    """The national office contacted a person in its queue (activity, for retention)."""

    registration_id = Id(required=True)
    purpose = fields.String(required=True, validate=_one_of(CONTACT_PURPOSES))


# --- directory ---------------------------------------------------------------------------------

CONTACT_POINT_KINDS = (
    "link_centre",
    "municipal_service",
    "volunteer_centre",
    "user_organisation",
    "support_centre",
    "district_office",
    "national_office",
)
ACCESSIBILITY_FEATURES = ("step_free", "hearing_loop", "quiet_room")


class MeetingPlaceSummary(StrictSchema):
    """What matching needs of a meeting place: room size and accessibility, no name or address."""

    meeting_place_id = Id(required=True)
    capacity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    accessibility = fields.List(fields.String(validate=_one_of(ACCESSIBILITY_FEATURES)), required=True)


#: A meeting place is a room, or a video meeting (whose link never travels on the bus).
MEETING_PLACE_KINDS = ("physical", "digital")


class MeetingPlaceSummaryV2(MeetingPlaceSummary):
    kind = fields.String(required=True, validate=_one_of(MEETING_PLACE_KINDS))


class ContactPointUpserted(StrictSchema):
    """A contact point as it now is. Consumers keep the highest `revision` and ignore older ones."""

    contact_point_id = Id(required=True)
    revision = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    kind = fields.String(required=True, validate=_one_of(CONTACT_POINT_KINDS))
    name = fields.String(required=True, validate=validate.Length(1, 200))
    county_number = fields.String(allow_none=True, validate=validate.Regexp(r"^\d{2}$"))
    municipalities = fields.List(MunicipalityNumber(), required=True)
    digital_groups = Bool(required=True)
    languages = Languages(required=True)
    min_size = fields.Integer(required=True, strict=True, validate=validate.Range(3, 12))
    max_size = fields.Integer(required=True, strict=True, validate=validate.Range(3, 12))
    active = Bool(required=True)
    meeting_places = fields.List(fields.Nested(MeetingPlaceSummary), load_default=list)


class ContactPointUpsertedV2(ContactPointUpserted):
    """Version 2: each meeting place says whether it is physical or digital."""

    meeting_places = fields.List(fields.Nested(MeetingPlaceSummaryV2), load_default=list)


class ContactPointDeactivated(StrictSchema):
    """The contact point takes no one new; `revision` orders it with the upserts."""

    contact_point_id = Id(required=True)
    revision = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


# --- matching ----------------------------------------------------------------------------------

ROUTE_KINDS = ("contact_point", "digital", "national_office")


class RegistrationWaitlisted(StrictSchema):
    registration_id = Id(required=True)
    contact_point_id = Id(required=True)
    route_kind = fields.String(required=True, validate=_one_of(ROUTE_KINDS))
    reason = fields.String(required=True, validate=validate.Length(1, 300))


class RegistrationUnroutable(StrictSchema):
    registration_id = Id(required=True)
    reason = fields.String(required=True, validate=validate.Length(1, 300))


class RegistrationAssigned(StrictSchema):
    """The national office assigned a person from its queue to a contact point; the person's
    registration_waitlisted follows."""

    registration_id = Id(required=True)
    contact_point_id = Id(required=True)


class Relaxation(StrictSchema):
    step = fields.String(required=True, validate=_one_of(("mixed_themes", "neighbouring", "digital", "group_of_four")))
    reason = fields.String(required=True, validate=validate.Length(1, 300))


class Explanation(StrictSchema):
    summary = fields.String(required=True, validate=validate.Length(1, 2000))
    slot = fields.Nested(Slot, required=True)
    theme = fields.String(allow_none=True, required=True, validate=_one_of(THEMES))
    mixed = Bool(required=True)
    relaxed = fields.List(fields.Nested(Relaxation), required=True)


class GroupEvent(StrictSchema):
    group_id = Id(required=True)
    contact_point_id = Id(required=True)
    registration_ids = fields.List(Id(), required=True)


class GroupProposed(GroupEvent):
    explanation = fields.Nested(Explanation, required=True)


class RelaxationV2(Relaxation):
    """A widening step as a page can put it in words: after how many days of waiting it applies,
    and who joined through it (empty for a step the whole group takes, such as mixed themes)."""

    after_days = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    registration_ids = fields.List(Id(), required=True)


class ExplanationV2(Explanation):
    """Version 2: the longest wait and the relaxations as numbers and ids, so that a reader's page
    says them in its own language; `summary` stays matching's English sentence for other systems."""

    relaxed = fields.List(fields.Nested(RelaxationV2), required=True)
    longest_wait_days = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))


class GroupProposedV2(GroupEvent):
    """Version 2 of group_proposed: the explanation's structured fields (ExplanationV2)."""

    explanation = fields.Nested(ExplanationV2, required=True)


class GroupRejected(GroupEvent):
    reason = fields.String(
        required=True, validate=_one_of(("not_compatible", "no_room", "no_starter", "acquaintances", "other"))
    )


class GroupConfirmed(GroupEvent):
    meeting_place_id = Id(required=True)
    first_meeting_at = Timestamp(required=True)
    starter_id = Id(required=True)


class GroupConfirmedV2(GroupConfirmed):
    """Version 2: the day staff plan to hand the group over to itself, if they named one."""

    handover_planned_on = fields.Date(required=True, allow_none=True)


GROUP_STATES = ("proposed", "confirmed", "started", "self_run")
MEETING_INTERVALS = ("week", "other_week")


class Schedule(StrictSchema):
    """When and where a group meets once it runs itself."""

    weekday = fields.String(required=True, validate=_one_of(WEEKDAYS))
    start_time = ClockTime(required=True)
    every = fields.String(required=True, validate=_one_of(MEETING_INTERVALS))
    meeting_place_id = Id(required=True)


class GroupMemberAdded(GroupEvent):
    registration_id = Id(required=True)


class GroupMemberAddedV2(GroupMemberAdded):
    """Version 2: what a newcomer's invitation must say of the group as it is now."""

    group_state = fields.String(required=True, validate=_one_of(GROUP_STATES))
    schedule = fields.Nested(Schedule, required=True, allow_none=True)
    next_meeting_at = Timestamp(required=True, allow_none=True)


class GroupMemberLeft(GroupEvent):
    registration_id = Id(required=True)
    reason = fields.String(required=True, validate=_one_of(("left", "withdrawn", "erased", "staff")))


class GroupClosed(GroupEvent):
    reason = fields.String(required=True, validate=_one_of(("completed", "dissolved", "staff")))


class GroupClosedV2(GroupEvent):
    """Version 2 adds the reason `superseded`: an unconfirmed proposal that a re-solve replaced
    (its people are in the group_proposed events that follow it)."""

    reason = fields.String(required=True, validate=_one_of(("completed", "dissolved", "staff", "superseded")))


class GroupStarted(GroupEvent):
    started_at = Timestamp(required=True)


class GroupSelfRun(GroupEvent):
    """The starter handed the group over: it runs itself, up to two members answer check-ins."""

    handover_at = Timestamp(required=True)
    checkin_registration_ids = fields.List(Id(), required=True, validate=validate.Length(0, 2))
    schedule = fields.Nested(Schedule, required=True, allow_none=True)


class GroupCheckinDue(GroupEvent):
    checkin_id = Id(required=True)
    number = fields.Integer(required=True, strict=True, validate=validate.Range(1, 5))
    due_at = Timestamp(required=True)


class GroupCheckinRecorded(GroupEvent):
    """A check-in's answer; its free-text comment stays in matching (`has_comment` only)."""

    checkin_id = Id(required=True)
    still_meeting = Bool(required=True)
    usual_attendance = fields.Integer(required=True, strict=True, validate=validate.Range(0, 20))
    wants_new_members = Bool(required=True)
    needs_help = Bool(required=True)
    has_comment = Bool(required=True)


# --- notification ------------------------------------------------------------------------------


class Recipient(StrictSchema):
    kind = fields.String(required=True, validate=_one_of(("participant", "staff", "referrer")))
    id = Id(required=True)


class NotificationSent(StrictSchema):
    notification_id = Id(required=True)
    recipient = fields.Nested(Recipient, required=True)
    registration_id = Id(allow_none=True, load_default=None)
    template = fields.String(required=True, validate=validate.Length(1, 64))
    channel = fields.String(required=True, validate=_one_of(CHANNELS))
    cause_event_id = Id(required=True)


class NotificationFailed(NotificationSent):
    reason = fields.String(required=True, validate=validate.Length(1, 300))


#: How a message that gave up failed: every channel refused it for good, or its retries ran out
#: (24 hours after the first attempt).
NOTIFICATION_FAILURES = ("permanent", "expired")


class NotificationFailedV2(NotificationFailed):
    """Version 2 adds `failure`; version 1 (without it) is still accepted."""

    failure = fields.String(required=True, validate=_one_of(NOTIFICATION_FAILURES))


# --- the registry ------------------------------------------------------------------------------

EventKey = tuple[str, str]  # (source service, event type); the source is the exchange `<source>.events`

#: (source, event type) -> {schema_version: data schema}. The contract evolution rule
#: (docs/design.md, "Contracts"): a change that adds fields to an event adds a version here, with a
#: schema of its own; receivers accept every version listed; an emitter moves to the new version
#: (EMITTED_VERSIONS) only once every receiver in the repository accepts it; docs/asyncapi.yaml
#: lists each version.
VERSIONS: dict[EventKey, dict[int, type[StrictSchema]]] = {
    ("intake", "registration_requested"): {1: RegistrationRequested},
    ("registration", "registration_created"): {1: RegistrationCreated},
    ("registration", "registration_rejected"): {1: RegistrationRejected},
    ("registration", "registration_updated"): {1: RegistrationUpdated},
    ("registration", "registration_withdrawn"): {1: RegistrationWithdrawn},
    ("registration", "registration_erased"): {1: RegistrationErased},
    ("registration", "registration_paused"): {1: RegistrationPaused},
    ("registration", "registration_resumed"): {1: RegistrationResumed},
    ("registration", "registration_pair_flagged"): {1: RegistrationPairFlagged},
    ("registration", "registration_pair_cleared"): {1: RegistrationPairCleared},
    ("registration", "personal_link_requested"): {1: PersonalLinkRequested},
    ("registration", "cohort_created"): {1: CohortCreated},
    ("registration", "registration_contacted"): {1: RegistrationContacted},
    ("directory", "contact_point_upserted"): {1: ContactPointUpserted, 2: ContactPointUpsertedV2},
    ("directory", "contact_point_deactivated"): {1: ContactPointDeactivated},
    ("matching", "registration_waitlisted"): {1: RegistrationWaitlisted},
    ("matching", "registration_unroutable"): {1: RegistrationUnroutable},
    ("matching", "registration_assigned"): {1: RegistrationAssigned},
    ("matching", "group_proposed"): {1: GroupProposed, 2: GroupProposedV2},
    ("matching", "group_rejected"): {1: GroupRejected},
    ("matching", "group_confirmed"): {1: GroupConfirmed, 2: GroupConfirmedV2},
    ("matching", "group_member_added"): {1: GroupMemberAdded, 2: GroupMemberAddedV2},
    ("matching", "group_member_left"): {1: GroupMemberLeft},
    ("matching", "group_closed"): {1: GroupClosed, 2: GroupClosedV2},
    ("matching", "group_started"): {1: GroupStarted},
    ("matching", "group_self_run"): {1: GroupSelfRun},
    ("matching", "group_checkin_due"): {1: GroupCheckinDue},
    ("matching", "group_checkin_recorded"): {1: GroupCheckinRecorded},
    ("notification", "notification_sent"): {1: NotificationSent},
    ("notification", "notification_failed"): {1: NotificationFailed, 2: NotificationFailedV2},
}

#: The version each emitter sends now, where it is not 1. notification_failed v2: no service in
#: the repository subscribes to it (SUBSCRIPTIONS), so no receiver here had to learn it first.
#: group_confirmed v2 and group_member_added v2 (issue 13): their receivers (registration,
#: notification) read them, treating a field v1 lacks as absent; contact_point_upserted v2 likewise
#: (matching, whose confirmation reads a meeting place without `kind` as physical).
#: group_proposed v2: its receivers read only the ids, which both versions carry. group_closed
#: v2 (issue 18, reason superseded): notification drops the group whatever the reason; registration
#: drops a proposal's mark whatever the reason, and (issue 17, retention) reads the reason: a
#: superseded proposal closes no one's group life.
EMITTED_VERSIONS: dict[EventKey, int] = {
    ("notification", "notification_failed"): 2,
    ("matching", "group_proposed"): 2,
    ("matching", "group_confirmed"): 2,
    ("matching", "group_member_added"): 2,
    ("directory", "contact_point_upserted"): 2,
    ("matching", "group_closed"): 2,
}


def emitted_version(source: str, event_type: str) -> int:
    return EMITTED_VERSIONS.get((source, event_type), 1)


def known_versions(source: str, event_type: str) -> list[int]:
    return sorted(VERSIONS.get((source, event_type), {}))


#: (source, event type) -> the data schema its emitter sends now.
EVENTS: dict[EventKey, type[StrictSchema]] = {
    key: versions[emitted_version(*key)] for key, versions in VERSIONS.items()
}

#: Which service consumes which events. The broker topology (one durable queue per pair) is
#: declared from this table before any service starts, and each handler must be listed here.
SUBSCRIPTIONS = {
    "registration": [
        ("intake", "registration_requested"),
        ("matching", "registration_waitlisted"),
        ("matching", "registration_unroutable"),
        ("matching", "registration_assigned"),
        ("matching", "group_proposed"),
        ("matching", "group_rejected"),
        ("matching", "group_closed"),
        ("matching", "group_confirmed"),
        ("matching", "group_member_added"),
        ("matching", "group_member_left"),
    ],
    "matching": [
        ("registration", "registration_created"),
        ("registration", "registration_updated"),
        ("registration", "registration_withdrawn"),
        ("registration", "registration_erased"),
        ("registration", "registration_paused"),
        ("registration", "registration_resumed"),
        ("registration", "registration_pair_flagged"),
        ("registration", "registration_pair_cleared"),
        ("registration", "cohort_created"),
        ("registration", "registration_contacted"),
        ("directory", "contact_point_upserted"),
        ("directory", "contact_point_deactivated"),
    ],
    "notification": [
        ("matching", "registration_waitlisted"),
        ("matching", "registration_unroutable"),
        ("matching", "group_proposed"),
        ("matching", "group_confirmed"),
        ("matching", "group_member_added"),
        ("matching", "group_member_left"),
        ("matching", "group_closed"),
        ("matching", "group_started"),
        ("matching", "group_self_run"),
        ("matching", "group_checkin_due"),
        ("registration", "registration_withdrawn"),
        ("registration", "registration_erased"),
        ("registration", "personal_link_requested"),
    ],
    "directory": [],
}

SERVICES = ("registration", "matching", "notification", "directory", "gateway")


def data_schema(source: str, event_type: str, version: int | None = None) -> type[StrictSchema]:
    """The data schema of an event at `version` (by default, the one its emitter sends now)."""
    try:
        versions = VERSIONS[(source, event_type)]
    except KeyError:
        raise KeyError(f"no contract for event {event_type!r} from {source!r}") from None
    return versions[emitted_version(source, event_type) if version is None else version]


class Envelope(StrictSchema):
    event_id = fields.UUID(required=True)
    event_type = fields.String(required=True, validate=validate.Length(1, 64))
    schema_version = fields.Integer(required=True, strict=True)
    occurred_at = Timestamp(required=True)
    source = fields.String(required=True, validate=validate.Length(1, 64))
    data = fields.Dict(required=True)
