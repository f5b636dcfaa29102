"""The typed schema of a school's home-visit policy.

Every part of the plugin reads the policy through these models: the plan form builds its
checklists and risk fields from them, ``rules.py`` enforces :class:`Rules`, the safety chain
takes :class:`Escalation`, and the handbook renders the guidance sections.
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

#: The roles a host's directory can give a user.
Role = Literal["staff", "approver", "office"]

#: When a visit must have a second member of staff.
TwoStaffCondition = Literal["always", "first_visit", "when_risk_identified", "whenever_possible"]

#: Who an escalation tier contacts: people, or ``webhook:<name>``, a channel configured in
#: ``HOME_VISITS_ALERT_WEBHOOKS`` (its address and secret live there, never in the policy).
PEOPLE = ("responsible_contact", "office", "approvers", "second_staff", "out_of_hours")
_CHANNEL = re.compile(r"^webhook:[a-z0-9][a-z0-9_-]{0,39}$")


def _recipient(value: str) -> str:
    if value in PEOPLE or _CHANNEL.match(value):
        return value
    raise ValueError(f"{value!r} is not one of {', '.join(map(repr, PEOPLE))} or a channel written "
                     "'webhook:<name>'")


def _channel(value: str) -> str:
    if _CHANNEL.match(value):
        return value
    raise ValueError(f"{value!r} is not a channel written 'webhook:<name>'")


Recipient = Annotated[str, AfterValidator(_recipient)]
ChannelName = Annotated[str, AfterValidator(_channel)]

#: The days of the week, as the policy writes them.
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

#: Whose bank holidays close the office.
Nation = Literal["england-and-wales", "scotland", "northern-ireland"]

_ID = r"^[a-z][a-z0-9-]{1,63}$"
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _clock_time(value: object) -> time:
    """Accept only ``"HH:MM"`` strings (24-hour clock)."""
    if isinstance(value, time):
        return value
    if isinstance(value, int):
        # YAML 1.1 reads an unquoted 17:30 as the base-60 number 1050.
        raise ValueError('write times in quotes as "HH:MM", for example "17:30"')
    if not isinstance(value, str) or not (match := _HHMM.match(value)):
        raise ValueError(f'{value!r} is not a time of day in the form "HH:MM" (00:00 to 23:59)')
    return time(int(match[1]), int(match[2]))


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a known time zone (try 'Europe/London')") from None
    return value


def _calendar_date(value: object) -> date:
    """Accept a date (YAML reads an unquoted 2026-10-23 as one) or a ``"YYYY-MM-DD"`` string."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a date; write it as YYYY-MM-DD, for example 2026-10-23") from None


ClockTime = Annotated[time, BeforeValidator(_clock_time)]
CalendarDate = Annotated[date, BeforeValidator(_calendar_date)]
ItemId = Annotated[str, Field(pattern=_ID)]
Text = Annotated[str, Field(min_length=1, max_length=4000)]
Title = Annotated[str, Field(min_length=1, max_length=200)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Item(_Model):
    """One piece of guidance: a checklist line, a risk factor, a reason, a step."""

    #: Stable identifier: the form field, the handbook anchor and the tests use it.
    id: ItemId
    #: A few words, shown as the checkbox label or the list heading.
    title: Title
    #: The guidance itself, one or two plain sentences.
    text: Text
    #: Checklist items only: the plan cannot be submitted until this one is ticked.
    required: bool = False
    #: The situation this item answers, read after "If" ("nobody answers"). Items that have one are
    #: printed on the handbook's printable sheet as "If <when>: <text>", so their text says what to do.
    when: Annotated[str, Field(min_length=1, max_length=120)] | None = None


class Reason(Item):
    """Why a visit might happen."""

    #: An attendance visit: the handbook's attendance page lists these.
    attendance: bool = False
    #: A visit for this reason always has a second member of staff.
    two_staff: bool = False


class Section(_Model):
    """A titled list of items, rendered as one block of the handbook."""

    title: Title
    #: A sentence or two introducing the list.
    intro: str = ""
    items: Annotated[list[Item], Field(min_length=1)]


class CodeWord(Item):
    """How staff ask for help on a call without alarming the family."""

    #: The words staff say on the phone, shown on the handbook's stop card: "fetch the blue folder".
    phrase: Title | None = None


class School(_Model):
    name: Title = "Our school"
    #: IANA time zone every time in the plugin is read in.
    timezone: Annotated[str, AfterValidator(_zone)] = "Europe/London"
    #: The school office's phone number, on the handbook's stop card and printable sheet.
    office_phone: Annotated[str, Field(min_length=3, max_length=40, pattern=r"^\+?[0-9][0-9 ()-]*[0-9]$")] | None = None


class Evening(_Model):
    #: A visit that starts or is expected to end after this time is an evening visit.
    after: ClockTime
    #: An evening visit must have a second member of staff.
    needs_two_staff: bool = True


class Night(_Model):
    #: A visit that starts, or is expected to end, before this time is an early-morning visit,
    #: treated like an evening one.
    before: ClockTime
    #: An early-morning visit must have a second member of staff.
    needs_two_staff: bool = True


class Misplaced(ValueError):
    """A problem a whole-policy check finds under a deeper key: ``loc`` is that key, below the model."""

    def __init__(self, loc: tuple[int | str, ...], problem: str) -> None:
        super().__init__(problem)
        self.loc = loc


#: In a route's ``risk_factors``: a plan with any risk factor ticked at all.
ANY_RISK = "any"


class Route(_Model):
    """Who is asked about some plans: emailed when such a plan is submitted, and reminded about it."""

    #: Who they are, in words, for the handbook: "the designated safeguarding lead".
    who: Title
    #: Their ids in the portal's staff directory.
    approvers: list[Annotated[str, Field(min_length=1, max_length=64)]] = []
    #: Or a role the portal's directory gives them (``dsl``): whoever holds it is asked. When nobody
    #: who holds it can decide a plan, every approver is asked.
    role: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{1,39}$")] | None = None
    #: Plans for any of these reasons.
    reasons: list[ItemId] = []
    #: Plans with any of these risk factors ticked (``any``: any risk factor at all).
    risk_factors: list[ItemId] = []

    @model_validator(mode="after")
    def _says_which_plans(self) -> Route:
        if not (self.reasons or self.risk_factors):
            raise ValueError("a route needs reasons, risk_factors or both, to say which plans it is for")
        if not (self.approvers or self.role):
            raise ValueError("a route needs approvers (ids from the staff list) or a role (such as dsl), "
                             "to say whom it asks")
        return self

    @property
    def any_risk(self) -> bool:
        return ANY_RISK in self.risk_factors

    def matches(self, reason: str, risk_factors: list[str]) -> bool:
        return reason in self.reasons or bool(
            risk_factors and (self.any_risk or set(risk_factors) & set(self.risk_factors)))


class PlanDates(_Model):
    """How far from today a visit (and a record's dates) may be: a date outside is refused beside its field."""

    #: Days back from today a date may be (a record written late, say).
    days_back: Annotated[int, Field(ge=0, le=3650)] = 365
    #: Days ahead of today a visit may be planned.
    days_ahead: Annotated[int, Field(ge=1, le=3650)] = 730


class Rules(_Model):
    #: Roles whose members may authorise a plan (never their own).
    authorisers: Annotated[list[Role], Field(min_length=1)] = ["approver"]
    #: Approvers asked first about some plans; other plans (and these, when none of the named
    #: approvers can decide one) go to every approver. Any approver may still decide any plan.
    routes: list[Route] = []
    #: When a second member of staff is required. ``whenever_possible`` allows a lone visit
    #: with a written reason; the others refuse it.
    two_staff: Annotated[list[TwoStaffCondition], Field(min_length=1)] = ["whenever_possible"]
    evening: Evening
    #: The early morning, treated like the evening (default: before 07:30).
    night: Night = Night(before=time(7, 30))
    #: The longest a single visit may be planned for.
    longest_visit_minutes: Annotated[int, Field(ge=10, le=720)] = 120
    #: Minutes after the expected return before a visit is overdue.
    grace_minutes: Annotated[int, Field(ge=0, le=240)] = 15
    #: Whether staff may travel to a visit by public transport.
    public_transport_allowed: bool = False
    #: How many school days before a visit an undecided plan triggers a reminder.
    reminder_window_days: Annotated[int, Field(ge=0, le=30)] = 2
    #: How long visits and their records are kept.
    retention_years: Annotated[int, Field(ge=1, le=100)] = 7
    #: The window of dates a plan, an extension or a record may name.
    plan_dates: PlanDates = PlanDates()
    #: How many minutes before a visit's start the visiting staff may check out (only on the visit's day).
    check_out_opens_minutes: Annotated[int, Field(ge=0, le=720)] = 60
    #: Optional: how staff ask for help on a phone call without alarming the family, and what the office
    #: does on hearing it. Shown on the visit card, the office's dashboard and in the handbook; never in
    #: a calendar feed or an email.
    code_word: CodeWord | None = None


class Tier(_Model):
    #: Minutes after the visit became overdue (expected return + the grace minutes) when this tier fires.
    after_minutes: Annotated[int, Field(ge=0, le=1440)]
    notify: Annotated[list[Recipient], Field(min_length=1)]


class Closure(_Model):
    """Days the school office is shut besides weekends and bank holidays: one date, or ``from``/``to``."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, populate_by_name=True)

    first: CalendarDate = Field(alias="from")
    last: CalendarDate = Field(alias="to")
    #: What the days are, for the dashboard and the handbook: "INSET day", "Christmas holidays".
    why: Annotated[str, Field(max_length=80)] = "a closure day"

    @model_validator(mode="before")
    @classmethod
    def _one_day(cls, value: object) -> object:
        if isinstance(value, (date, str)):
            return {"from": value, "to": value}
        return value

    @model_validator(mode="after")
    def _in_order(self) -> Closure:
        if self.last < self.first:
            raise ValueError("'to' must be the same day as 'from' or later")
        if (self.last - self.first).days > 366:
            raise ValueError("a closure is at most a year long")
        return self


class Office(_Model):
    """Which days the school office is open: the others are out of hours all day."""

    #: The days of the week it opens.
    days: Annotated[list[Weekday], Field(min_length=1)] = ["mon", "tue", "wed", "thu", "fri"]
    #: Whose bank holidays it closes on (England and Wales share theirs).
    nation: Nation = "england-and-wales"
    #: The school's own closures: INSET days, the holidays.
    closed: list[Closure] = []


class Escalation(_Model):
    tiers: Annotated[list[Tier], Field(min_length=1)]
    #: What a responder does when someone is overdue, in order.
    procedure: Annotated[list[Item], Field(min_length=1)]
    #: Anyone still checked out at this time goes to the out-of-hours contact.
    office_closes: ClockTime
    #: When the office opens; a tier that falls outside opening hours goes to the out-of-hours contact.
    office_opens: ClockTime = time(8, 0)
    #: Who is called out of hours (a role or a named person); the email comes from config.
    out_of_hours_contact: Title = "the headteacher on call"
    #: Channels besides email the out-of-hours contact is told by (``webhook:<name>``), whenever they are.
    out_of_hours_channels: list[ChannelName] = []
    #: The days the office opens (weekdays, less bank holidays and the school's closures).
    office: Office = Office()

    @model_validator(mode="after")
    def _tiers_in_order(self) -> Escalation:
        minutes = [tier.after_minutes for tier in self.tiers]
        if minutes != sorted(set(minutes)):
            raise ValueError("tiers must have strictly increasing after_minutes")
        if self.office_opens >= self.office_closes:
            raise ValueError("office_opens must be earlier than office_closes")
        return self


class Guidance(_Model):
    """The handbook's guidance, one section per stage of a visit."""

    consent: Section
    before: Section
    getting_there: Section
    take: Section
    #: When not to go in, and what to do instead: the stop card at the top of "When you arrive" and on
    #: the printable sheet. Titles are situations read after "If" ("the pupil is on their own").
    stop: Section | None = None
    arriving: Section
    during: Section
    aggression: Section
    children_alone: Section
    after: Section
    record: Section
    families: Section
    agencies: Section
    attendance: Section

    def items(self, name: str) -> list[Item]:
        """The items of one section (none for an optional section the policy leaves out)."""
        section: Section | None = getattr(self, name)
        return section.items if section else []


class Policy(_Model):
    """A school's whole home-visit policy."""

    #: Written by whoever maintains the policy; shown in the handbook footer.
    version: Title
    #: When the policy was last reviewed, and when it is next due for review (shown in the handbook).
    reviewed: date | None = None
    review_by: date | None = None
    school: School = School()
    reasons: Annotated[list[Reason], Field(min_length=1)]
    #: What to offer instead of a visit.
    alternatives: Annotated[list[Item], Field(min_length=1)]
    #: What a risk assessment looks at; each one is a tick box on the plan.
    risk_factors: Annotated[list[Item], Field(min_length=1)]
    guidance: Guidance
    rules: Rules
    escalation: Escalation

    @model_validator(mode="after")
    def _ids_unique(self) -> Policy:
        lists = {name: getattr(self, name) for name in ("reasons", "alternatives", "risk_factors")}
        lists |= {f"guidance.{name}.items": self.guidance.items(name) for name in Guidance.model_fields}
        lists["escalation.procedure"] = self.escalation.procedure
        lists["rules.code_word"] = [self.rules.code_word] if self.rules.code_word else []
        seen: dict[str, str] = {}
        for path, items in lists.items():
            for index, item in enumerate(items):
                where = f"{path}[{index}]"
                if item.id in seen:
                    raise ValueError(
                        f"item id {item.id!r} is used more than once ({seen[item.id]} and {where}); ids must be unique"
                    )
                seen[item.id] = where
        return self

    @model_validator(mode="after")
    def _review_after_reviewed(self) -> Policy:
        if self.reviewed and self.review_by and self.review_by <= self.reviewed:
            raise Misplaced(("review_by",), "must be later than reviewed")
        return self

    @model_validator(mode="after")
    def _routes_name_real_items(self) -> Policy:
        reasons = {reason.id for reason in self.reasons}
        risks = {factor.id for factor in self.risk_factors} | {ANY_RISK}
        for index, route in enumerate(self.rules.routes):
            for key, known, ids in (("reasons", reasons, route.reasons), ("risk_factors", risks, route.risk_factors)):
                if unknown := [i for i in ids if i not in known]:
                    raise Misplaced(("rules", "routes", index, key),
                                    f"{', '.join(map(repr, unknown))} is not one of the policy's {key} "
                                    f"({', '.join(sorted(known))})")
        return self

    def routes_for(self, reason: str, risk_factors: list[str]) -> list[Route]:
        """The routes a plan with this reason and these risk factors follows."""
        return [route for route in self.rules.routes if route.matches(reason, risk_factors)]

    def all_items(self) -> list[Item]:
        """Every item in the policy, in document order."""
        items: list[Item] = [*self.reasons, *self.alternatives, *self.risk_factors]
        for name in Guidance.model_fields:
            items.extend(self.guidance.items(name))
        items.extend(self.escalation.procedure)
        if self.rules.code_word:
            items.append(self.rules.code_word)
        return items

    def item(self, item_id: str) -> Item:
        """The item with this id (``KeyError`` if there is none)."""
        for item in self.all_items():
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    def reason(self, reason_id: str) -> Reason | None:
        return next((r for r in self.reasons if r.id == reason_id), None)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.school.timezone)
