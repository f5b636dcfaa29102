"""At the door and after: check out, back safe, extend, alert, the visit card, and the office dashboard."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from ..clock import next_after
from ..db import unit_of_work
from ..errors import WorkflowError
from ..mail.app import mail_context
from ..models import Visit
from ..plans import service as plans
from ..plans import workflow
from ..plans.access import get_visit_or_abort
from ..web.context import current_person, get_session, get_state, policy_of, schools_where
from ..web.errors import FormErrors
from ..web.guards import SafetyForm, one_tap
from . import rules as safety
from . import service as escalation
from . import words
from .forms import CallOffForm, ExtendForm, IncidentForm
from .sweep import deliver


def _one_tap(visit_id: int, act: Callable[..., None], message: str, *, back_to: str | None = None) -> Response:
    """A one-tap button: check the CSRF token, call ``act(session, visit, actor=, policy=, now=)``,
    say ``message`` and go back (to the visit, or to the ``back_to`` endpoint); a move that is not
    allowed gets its status and plain reason."""
    visit = get_visit_or_abort(visit_id, current_person())
    me = current_person().at(visit.school_id)
    one_tap()
    st, session = get_state(), get_session()
    try:
        with unit_of_work(session):
            act(session, visit, actor=me, policy=policy_of(visit), now=st.clock())
    except WorkflowError as error:
        abort(error.status, str(error))
    flash(message)
    return redirect(url_for(back_to) if back_to else url_for("home_visits.visit", visit_id=visit.id))


def _move(visit_id: int, action: str, message: str) -> Response:
    return _one_tap(visit_id, partial(plans.decide, action=action), message)


def check_out(visit_id: int) -> Response:
    response = _move(visit_id, "check_out", "You are checked out. Tap “I'm back safe” as soon as you have left.")
    visit = get_session().get(Visit, visit_id)
    if visit is not None and safety.went_out_after_closing(visit, policy := policy_of(visit)):
        flash(f"The school office has closed: {policy.escalation.out_of_hours_contact} is your cover for this "
              f"visit, and is the one alerted if you are not back on time.")
    return response


def not_going_ahead(visit_id: int) -> Response | tuple[str, int]:
    """"Not going ahead": the visit did not happen; the chain stops watching it, the office sees why."""
    visit = get_visit_or_abort(visit_id, current_person())
    me = current_person().at(visit.school_id)
    form = CallOffForm()
    if not form.validate():
        raise FormErrors(visit, call_off_form=form, status=400 if "csrf_token" in form.errors else 422)
    st, session = get_state(), get_session()
    try:
        with unit_of_work(session):
            plans.decide(session, visit, "not_going_ahead", actor=me, policy=policy_of(visit), now=st.clock(),
                         comment=form.reason.data or "")
    except WorkflowError as error:
        form.reason.errors = [str(error)]
        raise FormErrors(visit, call_off_form=form, status=error.status) from None
    flash("Noted: the visit is not going ahead. No alerts will be sent for it.")
    return redirect(url_for("home_visits.visit", visit_id=visit.id))


def check_in(visit_id: int) -> Response:
    return _move(visit_id, "check_in", "Welcome back: the visit is closed off.")


def extend(visit_id: int) -> Response | tuple[str, int]:
    visit = get_visit_or_abort(visit_id, current_person())
    me, policy = current_person().at(visit.school_id), policy_of(visit)
    form = ExtendForm()
    st, session = get_state(), get_session()
    if not form.validate():
        raise FormErrors(visit, extend_form=form, status=400 if "csrf_token" in form.errors else 422)
    now = st.clock()
    until = next_after(now, form.until.data, policy.zone)  # a time earlier than now means after midnight
    try:
        with unit_of_work(session):
            escalation.extend(session, visit, actor=me, policy=policy, now=now, until=until,
                              reason=form.reason.data)
    except WorkflowError as error:
        form.until.errors = [str(error)]
        raise FormErrors(visit, extend_form=form, status=error.status) from None
    flash(f"Expected back at {until.astimezone(policy.zone).strftime('%H:%M')}. The office can see why.")
    return redirect(url_for("home_visits.visit", visit_id=visit.id))


def acknowledge(visit_id: int) -> Response:
    return _one_tap(visit_id, escalation.acknowledge,
                    "You are handling this alert; no further alerts will be sent for this visit.",
                    back_to="home_visits.dashboard")


def _raise_alarm(visit_id: int, *, incident: str = "", form: IncidentForm | None = None) -> Response | tuple[str, int]:
    """Raise an alarm from the visit page and try to email it straight away (the sweep retries it)."""
    visit = get_visit_or_abort(visit_id, current_person())
    me = current_person().at(visit.school_id)
    st, session = get_state(), get_session()
    if form is None:
        one_tap()
    now = st.clock()
    try:
        with unit_of_work(session):
            raised = escalation.raise_alarm(session, visit, actor=me, policy=policy_of(visit), now=now,
                                            incident=incident)
    except WorkflowError as error:
        if form is None:
            abort(error.status, str(error))
        form.kind.errors = [str(error)]
        raise FormErrors(visit, incident_form=form, status=error.status) from None
    who = "Senior leaders have" if incident else "The office and senior leaders have"
    if not raised.tell:  # pressed again within minutes: the open alarm has it, and says so
        flash(f"Your alarm is still open and has been pressed {raised.taps} times; {who.lower()} it and are "
              "told again if you press after 5 minutes. If anyone is in danger, call 999.")
    elif deliver(session, mail_context(), now, only=raised.alert_id).sent:
        again = f" again (pressed {raised.taps} times)" if raised.taps > 1 else ""
        flash(f"{who} been emailed{again}. If anyone is in danger, call 999.")
    else:
        flash("The email could not be sent yet; it will be retried. Phone the school office now, or 999.")
    return redirect(url_for("home_visits.visit", visit_id=visit.id))


def alert_now(visit_id: int) -> Response | tuple[str, int]:
    """"Alert the office now": raise the top tier at once and try to send it straight away."""
    return _raise_alarm(visit_id)


def report_incident(visit_id: int) -> Response | tuple[str, int]:
    """"Report an incident" while out or later that day: the approvers hear at once."""
    form = IncidentForm(kinds=escalation.INCIDENT_KINDS)
    if not form.validate():
        raise FormErrors(get_visit_or_abort(visit_id, current_person()), incident_form=form,
                         status=400 if "csrf_token" in form.errors else 422)
    return _raise_alarm(visit_id, incident=form.kind.data or "", form=form)


def dashboard() -> str:
    """Open alarms, then who is overdue, who has not checked out, who is out, and today's other visits, of
    a school whose every visit ``me`` sees. Whoever sees more than one school's gets the trust's page
    first: each school's counts, linking to its own page (``?school=<id>``), and every open alarm.
    Derived on every load (no job needed); a visit whose status cannot be worked out is listed on its
    own with the reason, and never stops the page."""
    me = current_person()
    st, session = get_state(), get_session()
    overseen = schools_where(me, workflow.sees_everything)
    if not overseen:
        abort(403)
    asked = request.args.get("school", "")[:40]
    if asked and asked not in overseen:
        abort(404)
    now, minutes = st.clock(), current_app.config["HOME_VISITS_SWEEP_MINUTES"]
    chosen = [asked] if asked else overseen
    policies = {school: st.policy_for(school) for school in chosen}
    every_school = st.schools.every(chosen)
    schools, trust = [], None
    if len(chosen) > 1:
        trust = escalation.overview(session, now, policies, every_school=every_school)
        last = trust.last_sweep
    else:
        board = escalation.dashboards(session, now, policies, every_school=every_school)[chosen[0]]
        schools, last = [School(st.schools.of(chosen[0]), policies[chosen[0]], board)], board.last_sweep
    limit = timedelta(minutes=2 * minutes)
    return render_template(
        "home_visits/dashboard.html", me=me, schools=schools, trust=trust,
        names={school: st.schools.of(school) for school in overseen},
        school=st.schools.of(chosen[0]) if st.schools.trust and len(chosen) == 1 else None,
        more_schools=len(overseen) > 1, now=now, late=lambda v: words.late_words(v.expected_return, now),
        alert_words=lambda a: words.alert_words(a.key, a.notify, a.status, a.attempts, a.last_error, minutes),
        sweep=last, sweep_stale=last is None or now - last.last_run_at > limit, form=SafetyForm(),
    )


@dataclass
class School:
    """One school's part of the dashboard: the school, its policy (procedure, code word) and its board's
    sections (``later``: today's other visits that are not out)."""

    school: Any
    policy: Any
    board: escalation.Dashboard

    @property
    def sections(self) -> dict[str, Any]:
        groups = self.board.groups
        return {"overdue": groups[safety.OVERDUE], "missed": groups[safety.MISSED], "out": groups[safety.OUT],
                "later": [v for v in groups[""] if v.state != workflow.CHECKED_OUT],
                "alarms": self.board.alarms, "unreadable": self.board.unreadable, "alerts": self.board.alerts}


def visit_card(visit_id: int) -> tuple[str, int]:
    """One printable page to carry: where, when, who, who to ring, what to do if not back, what to take."""
    visit = get_visit_or_abort(visit_id, current_person())
    me = current_person().at(visit.school_id)
    if not workflow.visiting_or_oversees(visit, me, policy_of(visit).rules.authorisers):
        return render_template("home_visits/card.html", visit=None, me=me), 403
    return render_template("home_visits/card.html", visit=visit, me=me, policy=policy_of(visit)), 200
