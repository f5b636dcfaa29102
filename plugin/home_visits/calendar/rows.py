"""What a feed reads of each visit, as plain rows, and a key that stands for everything its event shows,
worked out without building the event: a feed after one change builds one event and looks the rest up.

No Flask; never writes. The key of a row is everything the event is made from:

- the whole row (every column :func:`.service.feed_event` reads: a change to any of them, by a save or
  by anything else, is a new key; ``SEQUENCE`` and the time stamp alone would miss a data fix);
- the link (so the base URL and the prefix the plugin is mounted under);
- whether, and since when, the visit is overdue (the clock and the policy's grace move it, not the row);
- the name and phone the directory gives now for each person the row names (not a mark of the staff
  list: an approver need not be on it, and one phone changed rebuilds only its events);
- the words of the policy an event shows (its reasons' and risk factors' titles), the visit's school's;
- the school's short name before the title, when the feed holds more than one school.

:func:`.ical.build_keyed_feed` adds what the feed adds (zone, detail, domain). Anything else an event
comes to show must join the key here; ``tests/calendar/test_event_keys.py`` proves each part is needed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Hashable, Sequence
from datetime import datetime
from operator import itemgetter
from types import SimpleNamespace
from typing import Any, Protocol

from sqlalchemy import Row, Text, cast

from ..models import Visit
from ..people import Person
from ..policy import Policy
from ..safety import rules as safety
from .ical import Keyed

#: The columns a feed reads: what :func:`.service.feed_event` shows. The risk factors come as their
#: stored JSON text (hashable, and not parsed for an event that is not built).
COLUMNS = (
    Visit.id, Visit.sequence, Visit.state, Visit.starts_at, Visit.expected_return, Visit.updated_at,
    Visit.reason, Visit.reason_other, Visit.pupil_initials, Visit.address, Visit.postcode,
    Visit.lead_id, Visit.second_staff_id, Visit.contact_id, Visit.contact_phone, Visit.authorised_by,
    cast(Visit.risk_factors, Text).label("risk_factors"), Visit.school_id,
)


class Finds(Protocol):
    def find(self, person_id: str) -> Person | None: ...


def overdue_since(visit: safety.SafetyVisit, policy: Policy, now: datetime) -> datetime | None:
    """When the staff out on ``visit`` became overdue, if they are now (the feed marks only visits out)."""
    if visit.state == safety.CHECKED_OUT and safety.is_overdue(visit, policy, now):
        return safety.overdue_from(visit, policy)
    return None


def words(policy: Policy) -> str:
    """A mark of the policy's words an event shows: its reasons' and risk factors' ids and titles."""
    raw = repr(([(r.id, r.title) for r in policy.reasons], [(r.id, r.title) for r in policy.risk_factors]))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


class _Named(dict[str | None, tuple[str, str] | None]):
    """Person id -> (name, phone) as the directory gives them now (``None``: unknown), each asked once."""

    def __init__(self, people: Finds) -> None:
        super().__init__()
        self._people = people

    def __missing__(self, person_id: str | None) -> tuple[str, str] | None:
        found = self._people.find(person_id) if person_id else None
        self[person_id] = named = (found.name, found.phone) if found else None
        return named


_AT = {column.key: n for n, column in enumerate(COLUMNS)}
#: What the key needs apart from the whole row, in one call per row (a feed has thousands).
_PICK = itemgetter(*(_AT[name] for name in ("id", "state", "starts_at", "expected_return", "lead_id",
                                            "second_staff_id", "contact_id", "authorised_by", "school_id")))


def keyed(
    rows: Sequence[Row[Any]], *, policy_of: Callable[[str], Policy], prefix_of: Callable[[str], str], people: Finds,
    link: Callable[[int], str], now: datetime
) -> list[Keyed[Row[Any]]]:
    """Each row with its key (see the module's notes); ``people`` should answer each id once per feed, and
    the events built from these rows must use the same ``people``, ``link`` and ``now``, each its school's
    policy (``policy_of(school id)``) and title prefix (``prefix_of(school id)``)."""
    named = _Named(people)
    schools: dict[str, tuple[Policy, str, str]] = {}  # school id -> its policy, words and prefix, once per feed
    items = []
    for row in rows:
        values = tuple(row)
        visit_id, state, starts, ends, lead, second, contact, authorised, school = _PICK(values)
        if school not in schools:
            policy = policy_of(school)
            schools[school] = (policy, words(policy), prefix_of(school))
        policy, mark, prefix = schools[school]
        late = overdue_since(row, policy, now) if state == safety.CHECKED_OUT else None
        key: Hashable = ("row", mark, prefix, values, link(visit_id), late,
                         named[lead], named[second], named[contact], named[authorised])
        items.append(Keyed(starts, visit_id, ends, key, row))
    return items


def loaded(row: Row[Any]) -> SimpleNamespace:
    """The row as :func:`.service.feed_event` reads a visit (risk factors as a list again)."""
    values = row._asdict()
    values["risk_factors"] = json.loads(values["risk_factors"] or "[]")
    return SimpleNamespace(**values)
