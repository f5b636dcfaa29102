"""The safety chain's rules: when a visit is overdue and which alerts are due. Pure: no Flask, no database.

Overdue is derived, never stored: a visit that is checked out and past its expected return plus the
policy's grace minutes. Each escalation tier fires a set number of minutes after that moment; the
office's closing time sends anyone still out to the out-of-hours contact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from .policy import Policy

CHECKED_OUT = "checked_out"

#: Alert key for the end-of-day escalation; tier alerts are ``tier-<n>``, manual ones ``manual-<n>``.
END_OF_DAY = "end-of-day"


class OutVisit(Protocol):
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


def overdue_from(visit: OutVisit, policy: Policy) -> datetime | None:
    """The moment the visit becomes overdue (expected return + grace), if it has an expected return."""
    if visit.expected_return is None:
        return None
    return visit.expected_return + timedelta(minutes=policy.rules.grace_minutes)


def is_overdue(visit: OutVisit, policy: Policy, now: datetime) -> bool:
    """Checked out and past expected return + grace."""
    since = overdue_from(visit, policy)
    return visit.state == CHECKED_OUT and since is not None and now >= since


def closing_time(visit: OutVisit, policy: Policy) -> datetime | None:
    """The office's closing time on the day the visit went out, as an aware datetime."""
    start = visit.checked_out_at or visit.starts_at
    if start is None:
        return None
    day = start.astimezone(policy.zone).date()
    return datetime.combine(day, policy.escalation.office_closes, tzinfo=policy.zone)


def due_alerts(visit: OutVisit, policy: Policy, now: datetime) -> list[Due]:
    """Every alert that should exist for ``visit`` at ``now``. Acknowledged visits get no further tiers."""
    if visit.state != CHECKED_OUT:
        return []
    due = []
    since = overdue_from(visit, policy)
    if since is not None and visit.acknowledged_at is None:
        for number, tier in enumerate(policy.escalation.tiers):
            at = since + timedelta(minutes=tier.after_minutes)
            if now >= at:
                due.append(Due(f"tier-{number}", tuple(tier.notify), at))
    closes = closing_time(visit, policy)
    if closes is not None and now >= closes:
        due.append(Due(END_OF_DAY, ("out_of_hours",), closes))
    return due


def top_tier(policy: Policy) -> tuple[str, ...]:
    """Who the "alert the office now" button reaches: the last tier, plus the office."""
    notify = list(policy.escalation.tiers[-1].notify)
    return tuple(dict.fromkeys(["office", *notify]))


def minutes_overdue(visit: OutVisit, policy: Policy, now: datetime) -> int:
    since = overdue_from(visit, policy)
    return max(0, int((now - since).total_seconds() // 60)) if since else 0
