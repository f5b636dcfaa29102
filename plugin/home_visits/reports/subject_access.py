"""The subject-access export as a document a family can read: what the school holds about their child,
each visit in plain words, and no internal ids. Pure: no Flask, no database; it reads the export that
:func:`.retention.export_pupil` gathered (the JSON file keeps every column for the school's own use).

A table added later that points at a visit is still shown, under "Other information held", each row's
values with their column names in words; columns that are ids, keys or tokens are left out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone, tzinfo
from typing import Any

from ..plans.rules import AGREED_WORDS, APPOINTMENT_WORDS, TRAVEL_WORDS
from ..plans.workflow import ACTION_WORDS, LABELS
from ..policy import Policy
from ..records.rules import FIELDS, INCIDENTS, OUTCOMES, SAFEGUARDING, SETTINGS
from ..safety.words import alert_name

#: Tables the document shows in its own words; anything else goes under "Other information held".
SHOWN = {"home_visits_visit", "home_visits_audit", "home_visits_alert", "home_visits_notice",
         "home_visits_notice_mention", "home_visits_record", "home_visits_action", "home_visits_correction",
         "home_visits_access"}
#: Columns that are only the system's own bookkeeping.
HIDDEN = {"id", "version", "sequence", "pupil_key", "key", "token_hash", "form_token", "html", "claimed_at",
          "attempts", "last_error", "visit_version"}


@dataclass
class Block:
    """A heading, facts as "label: words" pairs, and a list of lines."""

    title: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


@dataclass
class VisitPart:
    heading: str
    blocks: list[Block]


@dataclass
class Document:
    pupil: str
    school: str
    made: str
    visits: list[VisitPart]
    other: list[Block]


def readable(export: dict[str, Any], *, policy: Policy, name: Callable[[str], str], made: datetime) -> Document:
    """The export as a :class:`Document`. ``name`` turns a person's id into their name."""
    zone = policy.zone
    tables: dict[str, list[dict[str, Any]]] = export["tables"]

    def of(table: str, column: str, value: Any) -> list[dict[str, Any]]:
        return [row for row in tables.get(table, []) if row.get(column) == value]

    visits = []
    for visit in tables.get("home_visits_visit", []):
        records = of("home_visits_record", "visit_id", visit["id"])
        blocks = [_plan(visit, policy, name, zone)]
        for record in records:
            blocks.append(_record(record, tables, name, zone))
        blocks.append(_history(visit, tables, name, zone))
        blocks.append(_messages(visit, tables, zone))
        opened = [f"{_when(row['at'], zone)}: {name(row['person_id'])} ({row['what']})"
                  for row in of("home_visits_access", "visit_id", visit["id"])]
        if opened:
            blocks.append(Block("Who has read the visit record", lines=opened))
        visits.append(VisitPart(_visit_heading(visit, zone), blocks))
    other = []
    for table, rows in tables.items():
        if table in SHOWN or not rows:
            continue
        title = table.removeprefix("home_visits_").replace("_", " ").capitalize()
        for row in rows:
            other.append(Block(title, facts=[(column.replace("_", " ").capitalize(), _plain(value, zone))
                                             for column, value in row.items()
                                             if column not in HIDDEN and not column.endswith("_id") and value]))
    names = dict.fromkeys(v["pupil"] for v in tables.get("home_visits_visit", []))
    pupil = " / ".join(names) or export["pupil"].strip()
    return Document(pupil, policy.school.name, made.astimezone(zone).strftime("%d %B %Y"), visits, other)


def _visit_heading(visit: dict[str, Any], zone: tzinfo) -> str:
    start = _moment(visit.get("starts_at"))
    if start is None:
        return "A visit that was planned but never given a date"
    local = start.astimezone(zone)
    back = _moment(visit.get("expected_return"))
    until = f" to {back.astimezone(zone):%H:%M}" if back else ""
    return f"Home visit on {local:%A %d %B %Y}, {local:%H:%M}{until}"


def _plan(visit: dict[str, Any], policy: Policy, name: Callable[[str], str], zone: tzinfo) -> Block:
    reason = policy.reason(visit.get("reason") or "")
    titles = {item.id: item.title for item in policy.risk_factors}
    alternatives = {item.id: item.title for item in policy.alternatives}
    checklist = {item.id: item.title for item in policy.guidance.before.items}
    staff = name(visit["lead_id"]) + (f" and {name(visit['second_staff_id'])}" if visit.get("second_staff_id") else "")
    facts = [
        ("What happened to the plan", LABELS.get(visit["state"], visit["state"])),
        ("School reference", visit.get("pupil_ref") or ""),
        ("Address", " ".join(filter(None, [visit.get("address", ""), visit.get("postcode", "")]))),
        ("Why the school visited", reason.title if reason else (visit.get("reason_other") or "")),
        ("What the visit was for", visit.get("purpose") or ""),
        ("Staff visiting", staff),
        ("Why one member of staff went alone", visit.get("alone_reason") or ""),
        ("Who at school was keeping track of the visit", name(visit["contact_id"]) if visit.get("contact_id") else ""),
        ("Had the family agreed to the visit", AGREED_WORDS.get(visit.get("family_agreed") or "", "")),
        ("How the visit was arranged", APPOINTMENT_WORDS.get(visit.get("appointment") or "", "")),
        ("Why the visit was not arranged with the family", visit.get("unannounced_reason") or ""),
        ("How staff travelled", TRAVEL_WORDS.get(visit.get("travel") or "", "")),
        ("Language or interpreter needs", visit.get("language_needs") or ""),
        ("Other services working with the family", visit.get("agencies") or ""),
        ("What the school considered before choosing a visit",
         "; ".join(alternatives.get(i, i) for i in visit.get("alternatives") or [])),
        ("Why a visit instead", visit.get("alternatives_notes") or ""),
        ("Risks staff noted before going", "; ".join(titles.get(i, i) for i in visit.get("risk_factors") or [])),
        ("What staff planned about those risks", visit.get("risk_notes") or ""),
        ("What staff checked before going", "; ".join(checklist.get(i, i) for i in visit.get("checklist") or [])),
        ("Why a senior leader declined or sent back the plan", visit.get("decline_reason") or ""),
        ("Authorised by", name(visit["authorised_by"]) if visit.get("authorised_by") else ""),
        ("Why the visit took longer than planned", visit.get("extension_reason") or ""),
    ]
    return Block("The plan", facts=[(label, text) for label, text in facts if text])


def _record(record: dict[str, Any], tables: dict[str, list[dict[str, Any]]], name: Callable[[str], str],
            zone: tzinfo) -> Block:
    facts = [
        ("What happened", OUTCOMES.get(record.get("outcome") or "", "")),
        ("Where staff and the family talked", SETTINGS.get(record.get("setting") or "", "")),
        ("Written by", name(record["author_id"]) if record.get("author_id") else ""),
        ("Who was there", "; ".join(p["name"] + (f" ({p['relationship']})" if p.get("relationship") else "")
                                    for p in record.get("present") or [])),
        ("What was talked about", record.get("points") or ""),
        ("What the child said and how they seemed", record.get("child_voice") or ""),
        ("What the parents or carers said", record.get("parents_views") or ""),
        ("What was agreed", record.get("agreements") or ""),
        ("Concerns staff noted", record.get("concerns") or ""),
        ("Safeguarding", SAFEGUARDING.get(record.get("safeguarding") or "", "")),
        ("Incidents on the visit", "; ".join(INCIDENTS.get(k, k) for k in record.get("incident_kinds") or [])),
        ("What happened in the incident", record.get("incident_details") or ""),
        ("The visiting member of staff's own reflection", record.get("reflection") or ""),
        ("Confirmed by", name(record["confirmed_by"]) if record.get("confirmed_by") else ""),
        ("Their comment", record.get("confirmation") or ""),
    ]
    observations = record.get("observations") or []
    lines = [f"{'Fact' if o.get('kind') == 'fact' else 'Opinion'}: {o['text']}" for o in observations]
    for action in [a for a in tables.get("home_visits_action", []) if a.get("record_id") == record["id"]]:
        due = f", by {_day(action['due'])}" if action.get("due") else ""
        done = f"; done {_when(action['done_at'], zone)}" if action.get("done_at") else ""
        lines.append(f"Action: {action['what']} ({action.get('owner') or 'no one named'}{due}){done}")
    for fix in [c for c in tables.get("home_visits_correction", []) if c.get("record_id") == record["id"]]:
        lines.append(f"Correction to {FIELDS.get(fix['field'], fix['field']).lower()}, {_when(fix['at'], zone)} by "
                     f"{name(fix['by'])}: {fix['text']} (why: {fix['reason']})")
    return Block("What staff wrote after the visit", facts=[(k, v) for k, v in facts if v], lines=lines)


def _history(visit: dict[str, Any], tables: dict[str, list[dict[str, Any]]], name: Callable[[str], str],
             zone: tzinfo) -> Block:
    lines = []
    for row in [r for r in tables.get("home_visits_audit", []) if r.get("visit_id") == visit["id"]]:
        what = ACTION_WORDS.get(row["action"], row["action"].replace("_", " "))
        lines.append(f"{_when(row['at'], zone)}: {name(row['actor_id'])} {what}"
                     + (f" (“{row['comment']}”)" if row.get("comment") and "tier-" not in row["comment"] else ""))
    return Block("What happened, step by step", lines=lines)


def _messages(visit: dict[str, Any], tables: dict[str, list[dict[str, Any]]], zone: tzinfo) -> Block:
    lines = [f"{_when(n['created_at'], zone)}: email “{n['subject']}”"
             for n in tables.get("home_visits_notice", []) if n.get("visit_id") == visit["id"]]
    lines += [f"Mentioned in the office's morning list: {m['text']}"
              for m in tables.get("home_visits_notice_mention", []) if m.get("visit_id") == visit["id"]]
    lines += [f"{_when(a['due_at'], zone)}: {alert_name(a['key'], a.get('notify') or [])} ({a['status']})"
              for a in tables.get("home_visits_alert", []) if a.get("visit_id") == visit["id"]]
    return Block("Emails and safety alerts about the visit", lines=lines or ["None."])


def _moment(value: Any) -> datetime | None:
    if not (isinstance(value, str) and value):
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)  # stored in UTC


def _when(value: Any, zone: tzinfo) -> str:
    moment = _moment(value)
    return f"{moment.astimezone(zone):%d %B %Y, %H:%M}" if moment else "—"


def _day(value: Any) -> str:
    return f"{date.fromisoformat(value):%d %B %Y}" if isinstance(value, str) and value else "—"


def _plain(value: Any, zone: tzinfo) -> str:
    if isinstance(value, str) and _looks_like_moment(value):
        return _when(value, zone)
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def _looks_like_moment(value: str) -> bool:
    try:
        return "T" in value and datetime.fromisoformat(value) is not None
    except ValueError:
        return False
