"""A trust's database: years of past visits plus the same handful of current ones, inserted fast.

The plugin creates and migrates the SQLite file (through :func:`tests.benchmarks.host.make_host`),
then SQLAlchemy core bulk inserts fill it. Deterministic: the same sizes give the same rows.

What grows between the small and the big database is only history (visits that are over, with their
audit trail and the alerts of the few that ran late). What today looks like is the same in both:
:data:`CURRENT` visits, of which :data:`ACTIVE` are out right now and some of those overdue.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import insert, update

from home_visits.extension import state
from home_visits.models import Alert, AuditEntry, ChangeMarker, Visit

from .host import APPROVER_IDS, NOW, OFFICE_IDS, STAFF_IDS, make_host

LONDON = ZoneInfo("Europe/London")
YEARS = 10
#: Visits out right now (checked out), of which :data:`OVERDUE` are past expected return + grace.
ACTIVE, OVERDUE = 50, 20

FIRST = ("Jamie", "Amira", "Oliver", "Zainab", "Leo", "Maja", "Kacper", "Grace", "Tyler", "Ruby", "Mohammed", "Isla")
LAST = ("Smith", "Begum", "Nowak", "O'Connor", "Williams", "Ahmed", "Taylor", "Davies", "Mensah", "Walsh")
STREETS = ("Larch Close", "Station Road", "Mill Lane", "Beech Grove", "Church Street", "Victoria Terrace",
           "Oak Avenue", "Park View", "Canal Side", "Holly Court")
REASONS = ("first-day-absence", "extended-absence", "persistent-lateness", "low-engagement", "signs-of-distress",
           "share-progress", "cme-enquiries", "support-programme")
RISKS = ("risk-animals", "risk-visitors", "risk-access", "risk-isolated", "risk-property-hazards")
PAST_STATES = ("recorded",) * 80 + ("returned",) * 4 + ("cancelled",) * 9 + ("declined",) * 4 + ("draft",) * 3
CHUNK = 10_000


@dataclass
class Database:
    """A migrated and filled plugin database in ``instance`` (its SQLite file is ``path``)."""

    instance: Path
    history: int
    current: int

    @property
    def path(self) -> Path:
        return self.instance / "home_visits.sqlite"

    def copy_to(self, target: Path) -> Path:
        """A byte copy of the database file (for measures that change it), on disk before this
        returns (so its write-back does not slow what is measured next); returns the new file."""
        target.mkdir(parents=True, exist_ok=True)
        copy = target / self.path.name
        for stale in target.glob(self.path.name + "-*"):  # -wal and -shm of an earlier copy
            stale.unlink()
        shutil.copyfile(self.path, copy)
        with copy.open("rb+") as file:
            os.fsync(file.fileno())
        return copy


def _at(day: date, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON).astimezone(timezone.utc)


def _person(rng: random.Random) -> dict[str, Any]:
    """Who goes and who is the responsible contact: many staff, most visits in pairs."""
    lead = rng.choice(STAFF_IDS)
    second = rng.choice([s for s in STAFF_IDS if s != lead]) if rng.random() < 0.6 else None
    roll = rng.random()
    contact = rng.choice(OFFICE_IDS if roll < 0.5 else APPROVER_IDS if roll < 0.8 else STAFF_IDS)
    return {"lead_id": lead, "second_staff_id": second, "contact_id": contact,
            "alone_reason": "" if second else "Known family, daytime, office told."}


def _visit(rng: random.Random, visit_id: int, state_: str, starts: datetime, minutes: int) -> dict[str, Any]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    house = rng.randrange(1, 240)
    created = starts - timedelta(days=rng.randrange(2, 15), minutes=rng.randrange(600))
    risks = rng.sample(RISKS, rng.choice((0, 0, 0, 1, 1, 2)))
    row = {
        "id": visit_id, "version": 3, "sequence": 2, "state": state_,
        "pupil": f"{first} {last}", "pupil_initials": f"{first[0]}.{last[0]}.",
        "address": f"{house} {rng.choice(STREETS)}\nExampleton", "postcode": f"EX{rng.randrange(1, 20)} {house % 9}AB",
        "reason": rng.choice(REASONS), "purpose": "Talk with the family about attendance and agree next steps.",
        "starts_at": starts, "expected_return": starts + timedelta(minutes=minutes),
        "contact_phone": "01632 960000", "family_agreed": "yes", "appointment": "phone", "travel": "car",
        "risk_factors": risks, "risk_notes": "Dog kept in the garden." if risks else "",
        "alternatives": ["phone-call"], "alternatives_notes": "", "checklist": ["before-purpose", "before-authorised"],
        "created_at": created, "updated_at": created, "checked_out_at": None, "returned_at": None,
        "authorised_by": None, "authorised_at": None, "decline_reason": "",
        **_person(rng),
    }
    if state_ not in ("draft", "submitted", "cancelled", "declined"):
        row.update(authorised_by=rng.choice(APPROVER_IDS), authorised_at=created + timedelta(hours=20))
    if state_ in ("returned", "recorded"):
        back = row["expected_return"] + timedelta(minutes=rng.randrange(-20, 25))
        row.update(checked_out_at=starts, returned_at=back, updated_at=back + timedelta(hours=2))
    if state_ == "declined":
        row.update(decline_reason="Go with a colleague.", updated_at=created + timedelta(days=1))
    if state_ == "cancelled":
        row.update(updated_at=created + timedelta(days=1))
    return row


def _history(rng: random.Random, count: int) -> list[dict[str, Any]]:
    """``count`` visits on school days over the :data:`YEARS` before today, all over."""
    today = NOW.astimezone(LONDON).date()
    days = [today - timedelta(days=n) for n in range(1, 365 * YEARS + 3) if (today - timedelta(days=n)).weekday() < 5]
    rows = []
    for visit_id in range(1, count + 1):
        day = days[rng.randrange(len(days))]
        starts = _at(day, rng.randrange(9, 16), rng.choice((0, 15, 30, 45)))
        rows.append(_visit(rng, visit_id, rng.choice(PAST_STATES), starts, rng.choice((45, 60, 60, 90))))
    return rows


def _current(rng: random.Random, first_id: int) -> list[dict[str, Any]]:
    """Today and the weeks ahead, the same whatever the history: :data:`ACTIVE` out now (the first
    :data:`OVERDUE` of them past expected return + 15 minutes' grace), a few more today, plans ahead."""
    today, rows, next_id = NOW.astimezone(LONDON).date(), [], first_id

    def add(state_: str, starts: datetime, minutes: int, **changes: Any) -> None:
        nonlocal next_id
        row = _visit(rng, next_id, state_, starts, minutes)
        row.update(changes)
        rows.append(row)
        next_id += 1

    for n in range(ACTIVE):
        # Overdue ones were due back 10:00-10:57 (all past the grace); the rest 11:20-13:47.
        back = NOW - timedelta(minutes=90 - 3 * n) if n < OVERDUE else NOW + timedelta(minutes=(n - OVERDUE) * 3 - 10)
        starts = back - timedelta(minutes=60)
        add("checked_out", starts, 60, checked_out_at=starts, authorised_by=APPROVER_IDS[n % len(APPROVER_IDS)],
            authorised_at=starts - timedelta(days=1), updated_at=starts)
    for n in range(6):
        add("authorised", _at(today, 13 + n // 2, 30 * (n % 2)), 60)
    for n in range(3):
        add("submitted", _at(today, 14 + n, 0), 45)
        add("returned", _at(today, 9, 15 * n), 45)
    for n in range(40):
        state_ = "submitted" if n % 8 < 3 else "draft" if n % 8 == 3 else "authorised"
        add(state_, _at(today + timedelta(days=1 + n // 2), 9 + n % 7, 0), 60)
    return rows


def _trail(rng: random.Random, visits: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Audit rows for each past visit, and the alerts of the few that ran late (all dealt with)."""
    audit, alerts = [], []
    for row in visits:
        steps = [("created", None, "draft", row["created_at"])]
        if row["state"] != "draft":
            steps.append(("submitted", "draft", "submitted", row["created_at"] + timedelta(hours=1)))
        if row.get("returned_at"):
            steps += [("authorised", "submitted", "authorised", row["authorised_at"]),
                      ("check_out", "authorised", "checked_out", row["checked_out_at"]),
                      ("check_in", "checked_out", "returned", row["returned_at"])]
            if rng.random() < 0.04:  # ran late: the first tier went out, the second was not needed
                due = row["expected_return"] + timedelta(minutes=15)
                alerts.append({"visit_id": row["id"], "key": "tier-0", "notify": ["responsible_contact", "office"],
                               "status": "sent", "attempts": 1, "last_error": "", "raised_by": "",
                               "due_at": due, "claimed_at": due, "sent_at": due})
                alerts.append({"visit_id": row["id"], "key": "tier-1", "notify": ["approvers", "second_staff"],
                               "status": "stopped", "attempts": 1, "last_error": "", "raised_by": "",
                               "due_at": due + timedelta(minutes=30), "claimed_at": due + timedelta(minutes=30),
                               "sent_at": None})
        for action, before, after, at in steps:
            audit.append({"visit_id": row["id"], "at": at, "actor_id": row["lead_id"], "action": action,
                          "from_state": before, "to_state": after, "comment": "", "changes": []})
    return audit, alerts


def build(instance: Path, history: int, *, seed: int = 8) -> Database:
    """Create the plugin's database in ``instance`` through its migrations, then fill it."""
    app: Flask = make_host(instance)
    engine = state(app).engine
    rng = random.Random(seed)
    past = _history(rng, history)
    current = _current(rng, history + 1)
    audit, alerts = _trail(rng, past)
    with engine.begin() as connection:
        for table, rows in ((Visit.__table__, past + current), (AuditEntry.__table__, audit),
                            (Alert.__table__, alerts)):
            for start in range(0, len(rows), CHUNK):
                connection.execute(insert(table), rows[start:start + CHUNK])
        connection.execute(update(ChangeMarker).where(ChangeMarker.id == 1)
                           .values(counter=len(audit), changed_at=NOW - timedelta(minutes=5)))
    engine.dispose()
    with sqlite3.connect(instance / "home_visits.sqlite") as raw:  # fold the WAL in: one file to copy
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return Database(instance, history, len(current))
