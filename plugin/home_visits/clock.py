"""The school's local day: wall-clock times in the policy's zone turned into moments, and back.

Every ``datetime.combine(..., tzinfo=...)`` of the plugin is here. Pure: no Flask, no database.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone, tzinfo


def at_school(day: date, at: time, zone: tzinfo) -> datetime:
    """``at`` o'clock on ``day`` at the school, as an aware datetime in the school's zone."""
    return datetime.combine(day, at, tzinfo=zone)


def utc_at_school(day: date | None, at: time | None, zone: tzinfo) -> datetime | None:
    """A form's date and time (the school's wall clock) as an aware UTC moment; None when either is missing."""
    if day is None or at is None:
        return None
    return at_school(day, at, zone).astimezone(timezone.utc)


def school_day(moment: datetime, zone: tzinfo) -> date:
    """The date at the school at ``moment``."""
    return moment.astimezone(zone).date()


def local_moment(day_of: datetime, at: time, zone: tzinfo) -> datetime:
    """``at`` o'clock at the school on the school's day of ``day_of``."""
    return at_school(school_day(day_of, zone), at, zone)


def midnight(moment: datetime, zone: tzinfo, *, days: int = 0) -> datetime:
    """The school's midnight that starts the day of ``moment`` (``days`` later, when given)."""
    return at_school(school_day(moment, zone) + timedelta(days=days), time(0), zone)


def next_after(now: datetime, at: time, zone: tzinfo) -> datetime:
    """The next ``at`` o'clock at the school after ``now``: today's, or tomorrow's once today's has passed."""
    moment = local_moment(now, at, zone)
    return moment if moment > now else moment + timedelta(days=1)
