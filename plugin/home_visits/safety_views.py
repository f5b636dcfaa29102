"""At the door and after: check out, back safe, extend, alert, and the office dashboard."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from flask import abort, current_app, flash, redirect, render_template, url_for
from sqlalchemy import or_, select
from werkzeug.wrappers import Response

from . import escalation, safety, services, workflow
from .forms import ExtendForm, SafetyForm
from .models import Alert, JobRun, Visit
from .views import current_person, db_session, find_visit, mail_context, plugin_state, show_visit


def _one_tap(visit_id: int, act: Callable[..., None], message: str, *, back_to: str | None = None) -> Response:
    """A one-tap button: check the CSRF token, call ``act(session, visit, actor=, policy=, now=)``,
    say ``message`` and go back (to the visit, or to the ``back_to`` endpoint); a move that is not
    allowed gets its status and plain reason."""
    me = current_person()
    visit = find_visit(visit_id, me)
    if not SafetyForm().validate():
        abort(400, "The request was incomplete or expired: reload the page and try again.")
    st, session = plugin_state(), db_session()
    try:
        act(session, visit, actor=me, policy=st.policy, now=st.clock())
        session.commit()
    except workflow.WorkflowError as error:
        session.rollback()
        abort(error.status, str(error))
    flash(message)
    return redirect(url_for(back_to) if back_to else url_for("home_visits.visit", visit_id=visit.id))


def _move(visit_id: int, action: str, message: str) -> Response:
    return _one_tap(visit_id, partial(services.decide, action=action), message)


def check_out(visit_id: int) -> Response:
    return _move(visit_id, "check_out", "You are checked out. Tap “I'm back safe” as soon as you have left.")


def check_in(visit_id: int) -> Response:
    return _move(visit_id, "check_in", "Welcome back: the visit is closed off.")


def extend(visit_id: int) -> Response | tuple[str, int]:
    me = current_person()
    visit = find_visit(visit_id, me)
    form = ExtendForm()
    st, session = plugin_state(), db_session()
    if not form.validate():
        return show_visit(visit, me, extend_form=form, status=400 if "csrf_token" in form.errors else 422)
    now = st.clock()
    until = datetime.combine(now.astimezone(st.policy.zone).date(), form.until.data, tzinfo=st.policy.zone)
    if until <= now:  # a time earlier than now means after midnight
        until += timedelta(days=1)
    try:
        services.extend(session, visit, actor=me, policy=st.policy, now=now, until=until, reason=form.reason.data)
        session.commit()
    except workflow.WorkflowError as error:
        session.rollback()
        form.until.errors = [str(error)]
        return show_visit(visit, me, extend_form=form, status=error.status)
    flash(f"Expected back at {until.astimezone(st.policy.zone).strftime('%H:%M')}. The office can see why.")
    return redirect(url_for("home_visits.visit", visit_id=visit.id))


def acknowledge(visit_id: int) -> Response:
    return _one_tap(visit_id, services.acknowledge,
                    "You are handling this alert; no further alerts will be sent for this visit.",
                    back_to="home_visits.dashboard")


def alert_now(visit_id: int) -> Response:
    """"Alert the office now": raise the top tier at once and try to send it straight away."""
    me = current_person()
    visit = find_visit(visit_id, me)
    st, session = plugin_state(), db_session()
    if not SafetyForm().validate():
        abort(400, "The request was incomplete or expired: reload the page and try again.")
    if visit.state != workflow.CHECKED_OUT:
        abort(409, "Alerts are for a visit that is out. If anyone is in danger, call 999.")
    now = st.clock()
    count = len(session.scalars(select(Alert.id).where(Alert.visit_id == visit.id, Alert.raised_by != "")).all())
    alert_id = escalation.raise_alert(session, visit.id, f"manual-{count + 1}", safety.top_tier(st.policy), now,
                                      raised_by=me.id)
    services.audit(session, visit, me, "alert_raised", now, comment="Alert the office now")
    session.commit()
    result = escalation.deliver(session, mail_context(), now, only=alert_id)
    if result.sent:
        flash("The office and senior leaders have been emailed. If anyone is in danger, call 999.")
    else:
        flash("The alert email could not be sent yet; it will be retried. Phone the school office now, or 999.")
    return redirect(url_for("home_visits.visit", visit_id=visit.id))


def dashboard() -> str:
    """Who is out, where, until when; overdue visits first. Derived on every load: no job needed."""
    me = current_person()
    st, session = plugin_state(), db_session()
    if not workflow.sees_everything(me, st.policy.rules.authorisers):
        abort(403)
    now, zone = st.clock(), st.policy.zone
    start = datetime.combine(now.astimezone(zone).date(), datetime.min.time(), tzinfo=zone)
    visits = session.scalars(
        select(Visit).where(
            or_(
                Visit.state == workflow.CHECKED_OUT,
                Visit.starts_at.between(start, start + timedelta(days=1))
                & Visit.state.in_([workflow.AUTHORISED, workflow.SUBMITTED, workflow.RETURNED]),
            )
        ).order_by(Visit.expected_return)
    ).all()
    overdue = [v for v in visits if safety.is_overdue(v, st.policy, now)]
    out = [v for v in visits if v.state == workflow.CHECKED_OUT and v not in overdue]
    later = [v for v in visits if v.state != workflow.CHECKED_OUT]
    alerts = {
        v.id: session.scalars(select(Alert).where(Alert.visit_id == v.id).order_by(Alert.id)).all()
        for v in overdue + out
    }
    last = session.get(JobRun, "escalate")
    limit = timedelta(minutes=2 * current_app.config["HOME_VISITS_SWEEP_MINUTES"])
    return render_template(
        "home_visits/dashboard.html", me=me, overdue=overdue, out=out, later=later, alerts=alerts, now=now,
        minutes_overdue=lambda v: safety.minutes_overdue(v, st.policy, now),
        sweep=last, sweep_stale=last is None or now - last.last_run_at > limit, form=SafetyForm(),
    )
