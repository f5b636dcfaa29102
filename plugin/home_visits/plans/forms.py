"""The plan form and the small decision forms, built from the policy (Flask-WTF for CSRF)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import InputRequired, Length, Optional, Regexp

from ..clock import utc_at_school
from ..people import Person
from ..policy import Policy
from ..web.fields import (
    MultiCheckboxField,
    date_window,
    from_form,
    options,
    plain_text,
    single_line,
    strip_text,
    text_field,
    to_form,
    within,
)
from .parts import Part
from .rules import AGREED_WORDS, APPOINTMENT_WORDS, PLAN_FIELDS, TRAVEL_WORDS, Plan

POSTCODE = Regexp(
    r"^[A-Za-z]{1,2}\d[A-Za-z\d]?\s*\d[A-Za-z]{2}$", message="Enter a UK postcode, for example SW1A 1AA."
)
PHONE = Regexp(r"^\+?[\d ()-]{7,20}$", message="Enter a phone number of digits and spaces, for example 07700 900123.")

APPOINTMENT = options([("", "Choose…"), *APPOINTMENT_WORDS.items()])
TRAVEL = options([("", "Choose…"), *TRAVEL_WORDS.items()])
AGREED = options(AGREED_WORDS.items())

#: Plan fields whose rule messages sit beside a differently named form field.
FIELD_FOR_PLAN = {"starts_at": "start_time", "expected_return": "return_time"}

#: Which handbook page explains each section of the plan form.
HANDBOOK_PAGES = {
    "pupil": "filing-a-plan.html",
    "reason": "right-step.html",
    "when": "who-goes.html",
    "staff": "who-goes.html",
    "family": "families-and-agencies.html",
    "risk": "before.html#before-risk-assessment",
    "checklist": "before.html",
    "travel": "getting-there.html",
}



class PlanForm(FlaskForm):
    """Every field of a visit plan. Choices come from the policy and the host's staff list."""

    pupil = StringField(
        "Pupil (name or school reference)",
        validators=[InputRequired("Enter the pupil's name or school reference."), Length(max=120), single_line],
        filters=[strip_text],
    )
    pupil_ref = StringField(
        "School reference for the pupil (optional)", validators=[Optional(), Length(max=40), single_line],
        filters=[strip_text],
    )
    address = text_field(300, lines=True, label="Address")
    postcode = StringField("Postcode", validators=[Optional(), POSTCODE], filters=[strip_text])
    reason = SelectField("Reason for the visit", choices=[], default="")
    reason_other = text_field(200, label="If other, the reason")
    purpose = text_field(2000, lines=True, label="What the visit is for")
    date = DateField("Date", validators=[Optional()], format="%Y-%m-%d")
    start_time = TimeField("Start time", validators=[Optional()])
    return_time = TimeField("Expected back at", validators=[Optional()])
    second_staff_id = SelectField("Second member of staff", choices=[], default="")
    alone_reason = text_field(500, lines=True, label="If going alone, why")
    contact_id = SelectField("Responsible contact", choices=[], default="")
    contact_phone = StringField("Their phone number", validators=[Optional(), PHONE], filters=[strip_text])
    # strip_whitespace=False: a blank-looking answer ("\r\n") must still be one of the choices, not stored.
    family_agreed = RadioField("Has the family agreed to the visit?", choices=AGREED,
                               validators=[Optional(strip_whitespace=False)])
    appointment = SelectField("How the appointment was made", choices=APPOINTMENT, default="")
    unannounced_reason = text_field(500, lines=True, label="If unannounced, why")
    travel = SelectField("How you are travelling", choices=TRAVEL, default="")
    #: Asked on the family's part only: whether the next question (what help with language) applies.
    language = RadioField("Does anyone at the visit need an interpreter or help with language?",
                          choices=options([("yes", "Yes"), ("no", "No")]), validators=[Optional()])
    language_needs = text_field(500, label="Language or interpreter needs")
    agencies = text_field(500, lines=True, label="Other agencies involved")
    risk_factors = MultiCheckboxField("Risk factors", choices=[])
    risk_notes = text_field(2000, lines=True, label="Notes on the risks and what you will do about them")
    alternatives = MultiCheckboxField("Alternatives considered", choices=[])
    alternatives_notes = text_field(1000, lines=True, label="Why a visit instead")
    checklist = MultiCheckboxField("Before-visit checklist", choices=[])
    version = HiddenField()
    #: One per "New plan" form: posting the same form twice finds the first draft.
    form_token = HiddenField()
    save = SubmitField("Save draft")
    #: The first step of submitting: the plan is saved as a draft, checked against the rules and shown
    #: whole on "Check your answers", where :class:`SubmitPlanForm` sends it for authorisation.
    submit = SubmitField("Continue")

    def __init__(self, *args: Any, policy: Policy, staff: list[Person], me: Person, today: date,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dates = date_window(policy, today)
        self.reason.choices = options([("", "Choose…"), *((r.id, r.title) for r in policy.reasons), ("other", "Other")])
        others = [(p.id, p.name) for p in staff if p.id != me.id]
        visiting = [(p.id, p.name) for p in staff if p.id != me.id and p.has("staff")]  # who makes visits
        self.second_staff_id.choices = options([("", "Nobody: I am going alone"), *visiting])
        self.contact_id.choices = options([("", "Choose…"), *others])
        self.risk_factors.choices = options((i.id, i.title) for i in policy.risk_factors)
        self.alternatives.choices = options((i.id, i.title) for i in policy.alternatives)
        self.checklist.choices = options((i.id, i.title) for i in policy.guidance.before.items)

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        return (self.date is None or within(self.date, self.dates)) and valid

    def only(self, asked: list[str]) -> None:
        """Keep only the plan fields ``asked`` (one part's questions that apply): the others are neither
        shown, nor read, nor checked."""
        for name in [*PLAN_FIELDS, "date", "start_time", "return_time", "language", "save"]:
            if name not in asked and name in self:
                del self[name]

    def part_plan(self, part: Part, plan: Plan, policy: Policy) -> Plan:
        """``plan`` with ``part``'s answers from this form (one the part's questions were kept in)."""
        merged = replace(plan)
        if part.id == "when":
            day = self.date.data if self.date is not None else None
            merged.starts_at = _moment(day, self.start_time.data if self.start_time is not None else None, policy)
            merged.expected_return = _moment(day, self.return_time.data if self.return_time is not None else None,
                                             policy)
            return merged
        answered = from_form(self, Plan)
        for name in part.plan_fields:
            if name in self:
                setattr(merged, name, getattr(answered, name))
        return merged

    def to_plan(self, policy: Policy) -> Plan:
        """The validated form as a :class:`Plan`, times converted from the school's zone to UTC."""
        day: date | None = self.date.data
        return from_form(self, Plan, starts_at=_moment(day, self.start_time.data, policy),
                         expected_return=_moment(day, self.return_time.data, policy))

    def fill(self, plan: Plan, policy: Policy) -> None:
        """Show a stored plan in the form (times back in the school's zone)."""
        to_form(self, plan, Plan)
        if plan.starts_at:
            local = plan.starts_at.astimezone(policy.zone)
            self.date.data, self.start_time.data = local.date(), local.time()
        if plan.expected_return:
            self.return_time.data = plan.expected_return.astimezone(policy.zone).time()


def _moment(day: date | None, at: time | None, policy: Policy) -> datetime | None:
    return utc_at_school(day, at, policy.zone)


class DecisionForm(FlaskForm):
    """An approver's decision: authorise, send back for changes or decline; the button says which.
    (``cancel`` stays for posts from older pages; the visit page cancels through :class:`CancelForm`.)"""

    comment = TextAreaField(
        "Reason (needed to send the plan back or decline it)",
        validators=[Optional(), Length(max=1000, message="Keep this under 1000 characters."), plain_text],
    )
    #: The plan's version as the decider saw it: a decision about a plan that changed since is refused.
    version = HiddenField()
    authorise = SubmitField("Authorise")
    request_changes = SubmitField("Send back for changes")
    decline = SubmitField("Decline")
    cancel = SubmitField("Cancel this visit")

    def action(self) -> str | None:
        names = ("authorise", "request_changes", "decline", "cancel")
        return next((name for name in names if getattr(self, name).data), None)


class SubmitPlanForm(FlaskForm):
    """"Submit for authorisation" on "Check your answers": about the plan's version the lead read there."""

    version = HiddenField()
    submit = SubmitField("Submit for authorisation")


class CancelForm(FlaskForm):
    """"Cancel this visit", asked once more on a page of its own: nothing is cancelled by one click."""

    reason = TextAreaField(
        "Why it is cancelled (optional: the history and the others on the visit see it)",
        validators=[Optional(), Length(max=500, message="Keep this under 500 characters."), plain_text],
    )
    confirm = SubmitField("Yes, cancel this visit")
