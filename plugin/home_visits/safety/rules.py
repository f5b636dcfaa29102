"""The safety chain's rules: when a visit is overdue or its check-out missed, and which alerts are due.
Pure: no Flask, no database.

Nothing here is stored. A visit that is checked out and past its expected return plus the policy's grace
minutes is *overdue*. An authorised visit that nobody checked out by its start plus the grace has a
*missed check-out* (the likeliest human failure), and once its expected return plus the grace has passed
it is overdue as well, escalated exactly as if the staff had gone out and not come back. Each escalation
tier fires a set number of minutes after that moment; tiers that fall while the office is closed (out of its
hours, or all day on a weekend, a bank holiday of the school's nation or one of the school's closures) go
to the out-of-hours contact instead of the office. At closing time every visit still unresolved (out, or
never checked out and not called off) is handed over to the out-of-hours contact once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Protocol

import holidays

from .. import clock
from ..policy import Policy
from ..policy.schema import WEEKDAYS

AUTHORISED, CHECKED_OUT = "authorised", "checked_out"

#: Alert keys: escalation tiers are ``tier-<n>``, "alert the office now" ``manual-<n>``, incidents
#: reported at the moment ``incident-<n>``, the record's incident ``incident``.
END_OF_DAY = "end-of-day"
NOT_CHECKED_OUT = "not-checked-out"

#: What a visit's safety status can be, as the dashboard groups visits.
OVERDUE, MISSED, OUT = "overdue", "missed", "out"


class SafetyVisit(Protocol):
    state: str
    starts_at: datetime | None
    expected_return: datetime | None
    checked_out_at: datetime | None
    acknowledged_at: datetime | None


@dataclass(frozen=True)
class Due:
    """An alert that must exist for a visit: its key (unique per visit, ever) and who it goes to."""

    key: str
    notify: tuple[str, ...]
    #: When it became due.
    at: datetime


def _after_grace(moment: datetime | None, policy: Policy) -> datetime | None:
    return None if moment is None else moment + timedelta(minutes=policy.rules.grace_minutes)


def overdue_from(visit: SafetyVisit, policy: Policy) -> datetime | None:
    """The moment the visit becomes overdue (expected return + grace), if it has an expected return."""
    return _after_grace(visit.expected_return, policy)


def missed_from(visit: SafetyVisit, policy: Policy) -> datetime | None:
    """The moment an authorised visit that nobody checked out raises "not checked out yet" (start + grace)."""
    return _after_grace(visit.starts_at, policy)


def watched(visit: SafetyVisit) -> bool:
    """Visits the chain watches: out now, or authorised and due to go out."""
    return visit.state == CHECKED_OUT or (visit.state == AUTHORISED and visit.starts_at is not None)


def status(visit: SafetyVisit, policy: Policy, now: datetime) -> str:
    """``overdue``, ``missed`` (not checked out yet), ``out`` or ``""`` (nothing to watch now)."""
    if not watched(visit):
        return ""
    late = overdue_from(visit, policy)
    if late is not None and now >= late:
        return OVERDUE
    if visit.state == CHECKED_OUT:
        return OUT
    missed = missed_from(visit, policy)
    return MISSED if missed is not None and now >= missed else ""


def checked_status(visit: SafetyVisit, policy: Policy, now: datetime) -> tuple[str, str]:
    """:func:`status`, and what went wrong when it cannot be worked out (a date no calendar reaches, say):
    pages show that visit with the problem instead of failing for everyone."""
    try:
        return status(visit, policy, now), ""
    except (OverflowError, ValueError, TypeError) as error:
        return "", f"{type(error).__name__}: {error}"


def unhandled_lateness(visit: SafetyVisit, status_now: str) -> bool:
    """Overdue or not checked out (``status_now`` from :func:`status`), and nobody has taken charge yet."""
    return visit.acknowledged_at is None and status_now in (OVERDUE, MISSED)


def is_overdue(visit: SafetyVisit, policy: Policy, now: datetime) -> bool:
    """Past expected return + grace and not back: out, or never checked out at all."""
    return status(visit, policy, now) == OVERDUE


#: The holidays library's name for each nation's bank holidays (Wales keeps England's).
_SUBDIVISIONS = {"england-and-wales": "ENG", "scotland": "SCT", "northern-ireland": "NIR"}
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@lru_cache(maxsize=64)
def _bank_holidays(nation: str, year: int) -> holidays.HolidayBase:
    """The nation's bank holidays of ``year``, from the data bundled with the holidays library."""
    return holidays.country_holidays("GB", subdiv=_SUBDIVISIONS[nation], years=year)


def closed_because(day: date, policy: Policy) -> str:
    """Why the office is shut all of ``day`` ("Saturday", "Summer Bank Holiday", "INSET day"), or ``""``."""
    office = policy.escalation.office
    if WEEKDAYS[day.weekday()] not in office.days:
        return _DAY_NAMES[day.weekday()]
    if holiday := _bank_holidays(office.nation, day.year).get(day):
        return str(holiday)
    return next((closure.why for closure in office.closed if closure.first <= day <= closure.last), "")


def office_open(moment: datetime, policy: Policy) -> bool:
    """Whether the school office is open at ``moment``: an open day (:func:`closed_because`), between its
    opening and closing time."""
    local = moment.astimezone(policy.zone)
    escalation = policy.escalation
    return escalation.office_opens <= local.time() < escalation.office_closes and not closed_because(
        local.date(), policy)


def closing_time(visit: SafetyVisit, policy: Policy) -> datetime | None:
    """The office's closing time on the day the visit went out, as an aware datetime."""
    start = visit.checked_out_at or visit.starts_at
    if start is None:
        return None
    return local_moment(start, policy.escalation.office_closes, policy)


def local_moment(day_of: datetime, at: time, policy: Policy) -> datetime:
    """``at`` o'clock at the school on the school's day of ``day_of``."""
    return clock.local_moment(day_of, at, policy.zone)


def went_out_after_closing(visit: SafetyVisit, policy: Policy) -> bool:
    """Checked out once the office had closed: the out-of-hours contact is the cover from the start."""
    return visit.checked_out_at is not None and not office_open(visit.checked_out_at, policy)


def handed_over_at_closing(visit: SafetyVisit, policy: Policy, now: datetime) -> datetime | None:
    """When the office hands the visit to the out-of-hours contact (its closing time), if it has by
    ``now``: a visit still out, or due out while the office was open and never checked out nor called
    off. A visit that went out (or was due out) while the office was closed had that cover from the start."""
    closes = closing_time(visit, policy)
    if closes is None or now < closes:
        return None
    if visit.state == CHECKED_OUT:
        return None if went_out_after_closing(visit, policy) else closes
    if visit.state == AUTHORISED and visit.starts_at is not None and office_open(visit.starts_at, policy):
        return closes
    return None


def _out_of_hours(notify: tuple[str, ...], at: datetime, policy: Policy) -> tuple[str, ...]:
    """While the office is closed, whoever a tier would tell at the office is the out-of-hours contact."""
    if not office_open(at, policy) and "office" in notify:
        notify = tuple("out_of_hours" if kind == "office" else kind for kind in notify)
    return with_channels(notify, policy)


def with_channels(notify: tuple[str, ...], policy: Policy) -> tuple[str, ...]:
    """Whoever tells the out-of-hours contact also uses the channels the policy gives them."""
    if "out_of_hours" in notify:
        notify = (*notify, *policy.escalation.out_of_hours_channels)
    return tuple(dict.fromkeys(notify))


def due_alerts(visit: SafetyVisit, policy: Policy, now: datetime) -> list[Due]:
    """Every alert that should exist for ``visit`` at ``now``. Acknowledged visits get no further tiers."""
    if not watched(visit):
        return []
    due = []
    if visit.state == AUTHORISED:
        missed = missed_from(visit, policy)
        if missed is not None and now >= missed:
            due.append(Due(NOT_CHECKED_OUT, ("lead", "responsible_contact"), missed))
    since = overdue_from(visit, policy)
    if since is not None and visit.acknowledged_at is None:
        for number, tier in enumerate(policy.escalation.tiers):
            at = since + timedelta(minutes=tier.after_minutes)
            if now >= at:
                due.append(Due(f"tier-{number}", _out_of_hours(tuple(tier.notify), at, policy), at))
    if (closes := handed_over_at_closing(visit, policy, now)) is not None:
        due.append(Due(END_OF_DAY, with_channels(("out_of_hours",), policy), closes))
    return due


def still_needed(key: str, raised_by: str, visit: SafetyVisit) -> bool:
    """Whether an alert not yet sent should still go: anything raised by a person always does; the
    automatic ones only while their reason lasts (a late check-out ends "not checked out yet")."""
    if raised_by:
        return True
    if key == NOT_CHECKED_OUT:
        return visit.state == AUTHORISED
    return watched(visit)


def top_tier(policy: Policy) -> tuple[str, ...]:
    """Who the "alert the office now" button reaches: the last tier, plus the office."""
    notify = list(policy.escalation.tiers[-1].notify)
    return with_channels(("office", *notify), policy)


def minutes_overdue(visit: SafetyVisit, policy: Policy, now: datetime) -> int:
    since = overdue_from(visit, policy)
    return max(0, int((now - since).total_seconds() // 60)) if since else 0


def may_report_incident(visit: SafetyVisit, policy: Policy, now: datetime) -> bool:
    """While out, and for the rest of the day the staff went out: an incident is reported as it happens,
    not only in the record written later."""
    if visit.state == CHECKED_OUT:
        return True
    went = visit.checked_out_at
    return (visit.state in ("returned", "recorded") and went is not None
            and went.astimezone(policy.zone).date() == now.astimezone(policy.zone).date())
