"""The visit page, the one renderer every domain's view uses when it shows a visit with its forms (a
decision, an extension, an incident, a call-off) and their errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import render_template

from ..models import Visit
from ..people import Person
from ..plans import workflow
from ..plans.forms import AGREED, APPOINTMENT, TRAVEL, DecisionForm
from ..records import service as recording
from ..safety import rules as safety
from ..safety import service as escalation
from ..safety import words as safety_words
from ..safety.forms import CallOffForm, ExtendForm, IncidentForm
from .context import current_person, get_session, get_state
from .guards import SafetyForm

#: Plain words for the plan's choice fields, as the visit page shows them.
CHOICE_WORDS = {"family_agreed": {c.value: c.label for c in AGREED},
                "appointment": {c.value: c.label for c in APPOINTMENT},
                "travel": {c.value: c.label for c in TRAVEL}}


def show_visit(
    visit: Visit, me: Person, *, form: DecisionForm | None = None, extend_form: Any = None,
    incident_form: Any = None, call_off_form: Any = None, status: int = 200
) -> tuple[str, int]:
    """The visit page: the plan, the buttons this person may use now, and the history; ``me`` and the
    policy are as the visit's school has them."""
    st, session = get_state(), get_session()
    me, policy, now = me.at(visit.school_id), st.policy_for(visit.school_id), st.clock()
    authorisers = policy.rules.authorisers
    decisions = [a for a in workflow.DECISIONS if workflow.allowed(a, visit, me, authorisers)]
    safety_status, problem = safety.checked_status(visit, policy, now)
    visiting = workflow.is_visiting(visit, me)
    form = form or DecisionForm()
    extend_form = extend_form or ExtendForm()
    if not visiting:  # the office or a senior leader, told by phone: the form speaks of the staff
        extend_form.until.label.text = "New time they expect to be back"
        extend_form.reason.label.text = "Why they need longer"
        extend_form.extend.label.text = "Change the expected return"
    form.version.data = str(visit.version)  # the version this page shows: a decision is about it
    alarms = escalation.open_alarms(session, [visit.id])
    page = render_template(
        "home_visits/visit.html", visit=visit, me=me, form=form, actions=decisions, words=CHOICE_WORDS,
        may_cancel=workflow.allowed("cancel", visit, me, authorisers),
        can_edit=visit.state in workflow.EDITABLE and me.id == visit.lead_id,
        visiting=visiting, sees_all=workflow.sees_everything(me, authorisers),
        safety_status=safety_status, safety_problem=problem,
        overdue=safety_status == safety.OVERDUE,
        late=safety_words.late_words(visit.expected_return, now),
        may_check_out=not problem and safety.may_check_out_now(visit, policy, now),
        check_out_opens=None if problem else safety.check_out_opens(visit, policy),
        may_report=visiting and safety.may_report_incident(visit, policy, now),
        alarms=alarms, reported=escalation.reported_incidents(session, visit.id),
        can_take_charge=not visiting and workflow.may_take_charge(visit, me, authorisers)
        and bool(alarms or safety.unhandled_lateness(visit, safety_status)),
        safety_form=SafetyForm(), extend_form=extend_form,
        incident_form=incident_form or IncidentForm(kinds=escalation.INCIDENT_KINDS),
        call_off_form=call_off_form or CallOffForm(),
        record=recording.record_of(session, visit),
        can_read_record=workflow.reads_record(visit, me, authorisers),
        record_actions=workflow.RECORD_CONTENT_ACTIONS,
        family=family_actions(visit, me) if visit.postcode else FamilyActions([], []),
        school=st.schools.of(visit.school_id) if len(st.schools) > 1 else None, policy=policy,
    )
    return page, status


@dataclass
class FamilyActions:
    """Open actions from earlier visits to a family: those ``me`` may read (with their visit), and the
    leads to ask about the others (whose records ``me`` may not read: only that they exist is shown)."""

    readable: list[tuple[Any, Visit]]
    ask: list[str]


def family_actions(visit: Visit, me: Person, *, including: bool = False) -> FamilyActions:
    rows = recording.open_actions(get_session(), visit=visit, including=including)
    st = get_state()
    readable, ask = [], []
    for action, earlier in rows:
        if st.schools.get(earlier.school_id) is None:
            continue
        # ``me`` is as this visit's school sees them: another school's record asks the whole person
        reader = me if earlier.school_id == visit.school_id else current_person().at(earlier.school_id)
        if workflow.reads_record(earlier, reader, st.policy_for(earlier.school_id).rules.authorisers):
            readable.append((action, earlier))
        elif earlier.school_id == visit.school_id:  # another school's visits to the family stay unseen
            ask.append(earlier.lead_id)
    ask = list(dict.fromkeys(ask))
    return FamilyActions(readable, ask)


