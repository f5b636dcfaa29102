"""The visit record's rules and its plain-text copy: pure functions, no Flask, no database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ..errors import Problem
from ..text import address_line

OUTCOMES = {
    "took_place": "The visit took place",
    "doorstep_only": "Doorstep conversation only",
    "no_answer": "No answer at the door",
    "family_declined": "The family declined the visit",
}
SETTINGS = {"inside": "Inside the home", "doorstep": "On the doorstep"}
INCIDENTS = {"aggression": "Aggression or violence", "threats": "Threats or verbal abuse", "accident": "An accident"}
SAFEGUARDING = {"raised": "Raised on the safeguarding system", "not_needed": "Not a safeguarding matter"}

#: Record fields a correction can be about, with their labels.
FIELDS = {
    "points": "Points discussed",
    "child_voice": "The child's voice",
    "parents_views": "Parents' views",
    "agreements": "Agreements reached",
    "concerns": "Concerns",
    "observations": "Observations",
    "present": "Who was present",
    "times": "When it took place",
    "incident": "Incident",
}


@dataclass
class Action:
    what: str
    owner: str
    due: date | None


@dataclass
class RecordData:
    """The editable part of a visit record, as the lead fills it in."""

    outcome: str = ""
    setting: str = ""
    started_at: datetime | None = None
    ended_at: datetime | None = None
    present: list[dict[str, Any]] = field(default_factory=list)
    points: str = ""
    child_voice: str = ""
    parents_views: str = ""
    agreements: str = ""
    concerns: str = ""
    observations: list[dict[str, Any]] = field(default_factory=list)
    safeguarding: str = ""
    safeguarding_where: str = ""
    safeguarding_why: str = ""
    incident_kinds: list[str] = field(default_factory=list)
    incident_details: str = ""
    reflection: str = ""
    actions: list[Action] = field(default_factory=list)


def tells_the_dsl(record: RecordData) -> bool:
    """Whether a submitted record goes to the designated safeguarding lead: a concern is written, or it was
    raised on the safeguarding system."""
    return bool(record.concerns.strip()) or record.safeguarding == "raised"


def check_record(record: RecordData, *, now: datetime, visit_start: datetime | None) -> list[Problem]:
    """Every reason the record cannot be submitted yet (empty: it can)."""
    problems: list[Problem] = []
    if record.outcome not in OUTCOMES:
        problems.append(Problem("outcome", "Say what happened: did the visit take place?"))
    met = record.outcome in ("took_place", "doorstep_only")
    if met:
        problems += _when(record, now, visit_start)
        if not record.present:
            problems.append(Problem("present", "List everyone who was present, with their relationship to the child."))
        if not record.points.strip():
            problems.append(Problem("points", "Write down the points you discussed."))
    if record.outcome == "took_place" and record.setting not in SETTINGS:
        problems.append(Problem("setting", "Say whether you talked inside the home or on the doorstep."))
    for number, item in enumerate(record.observations, 1):
        if item.get("kind") not in ("fact", "opinion"):
            problems.append(Problem("observations", f"Mark observation {number} as a fact or an opinion."))
    if record.concerns.strip() and record.safeguarding not in SAFEGUARDING:
        problems.append(
            Problem("safeguarding", "You wrote a concern: say whether you raised it on the safeguarding system.")
        )
    if record.concerns.strip() and record.safeguarding == "not_needed" and not record.safeguarding_why.strip():
        problems.append(Problem("safeguarding_why", "You wrote a concern: say in one line why it is not a "
                                                    "safeguarding matter, or raise it on the safeguarding system."))
    if record.safeguarding == "raised" and not record.safeguarding_where.strip():
        problems.append(Problem("safeguarding_where", "Say where you raised it, for example CPOMS."))
    if record.incident_kinds and not record.incident_details.strip():
        problems.append(Problem("incident_details", "Describe the incident: what happened, and who was involved."))
    for number, action in enumerate(record.actions, 1):
        if not action.owner.strip() or action.due is None:
            problems.append(Problem("actions", f"Give action {number} an owner and a due date."))
        elif visit_start and action.due < visit_start.date():
            problems.append(Problem("actions", f"Action {number} is due before the visit took place."))
    return problems


def _when(record: RecordData, now: datetime, visit_start: datetime | None) -> list[Problem]:
    if record.started_at is None or record.ended_at is None:
        return [Problem("started_at", "Enter when the visit actually started and ended.")]
    problems = []
    if record.ended_at <= record.started_at:
        problems.append(Problem("ended_at", "The visit must end after it started."))
    if record.ended_at > now:
        problems.append(Problem("ended_at", "The visit cannot have ended in the future."))
    return problems


def cpoms_text(
    record: RecordData, *, visit: Any, reason: str, names: dict[str, str], zone: Any, corrections: list[Any]
) -> str:
    """The record as plain text to paste into the school's safeguarding system, beginning with why the
    visit was made (``reason``, as people read it, and its purpose). No private reflection."""

    def when(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%d/%m/%Y %H:%M") if moment else "-"

    lines = [
        f"Home visit record: {visit.pupil}",
        f"Reason: {reason}",
        f"Purpose: {visit.purpose or '-'}",
        f"Address: {address_line(visit.address, visit.postcode)}",
        f"Staff: {names.get(visit.lead_id, visit.lead_id)}"
        + (f", {names.get(visit.second_staff_id, visit.second_staff_id)}" if visit.second_staff_id else ""),
        f"Outcome: {OUTCOMES.get(record.outcome, record.outcome)}",
    ]
    if record.started_at:
        lines.append(f"When: {when(record.started_at)} to {when(record.ended_at)}")
    if record.setting:
        lines.append(f"Where: {SETTINGS.get(record.setting, record.setting)}")
    if record.present:
        people = "; ".join(
            f"{p.get('name', '')} ({p.get('relationship', '')})"
            + ("" if p.get("agreed", True) else ", family did not agree to talk in front of them")
            for p in record.present
        )
        lines.append(f"Present: {people}")
    for name, label in (("points", "Points discussed"), ("child_voice", "The child's voice"),
                        ("parents_views", "Parents' views"), ("agreements", "Agreements"), ("concerns", "Concerns")):
        if getattr(record, name).strip():
            lines += ["", f"{label}:", getattr(record, name).strip()]
    if record.observations:
        lines += ["", "Observations:"]
        lines += [f"- [{o.get('kind', '?').upper()}] {o.get('text', '')}" for o in record.observations]
    if record.actions:
        lines += ["", "Actions:"]
        lines += [f"- {a.what} (owner: {a.owner}; due {a.due.strftime('%d/%m/%Y') if a.due else '-'})"
                  for a in record.actions]
    if record.incident_kinds:
        kinds = ", ".join(INCIDENTS.get(k, k) for k in record.incident_kinds)
        lines += ["", f"Incident: {kinds}", record.incident_details.strip()]
    if record.safeguarding:
        where = f" ({record.safeguarding_where})" if record.safeguarding_where else ""
        if record.safeguarding == "not_needed" and record.safeguarding_why:
            where = f": {record.safeguarding_why}"
        lines += ["", f"Safeguarding: {SAFEGUARDING.get(record.safeguarding, record.safeguarding)}{where}"]
    for correction in corrections:
        lines += ["", f"Correction ({FIELDS.get(correction.field, correction.field)}), "
                  f"{when(correction.at)} by {names.get(correction.by, correction.by)}: {correction.text}",
                  f"Reason: {correction.reason}"]
    return "\n".join(lines) + "\n"
