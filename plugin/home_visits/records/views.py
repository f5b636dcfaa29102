"""The visit record: write and submit it, read it, correct it, confirm it, copy it for CPOMS."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ..db import unit_of_work
from ..errors import NotSubmitted, StaleRecord, WorkflowError
from ..mail.app import mail_context, send_notices
from ..models import RecordAction, Visit, VisitRecord
from ..people import Person
from ..plans import workflow
from ..plans.access import get_visit_or_abort
from ..plans.rules import reason_words
from ..safety import service as safety
from ..safety.sweep import deliver
from ..web.context import current_person, get_or_abort, get_session, get_state, handbook_url, policy_of
from ..web.fields import date_window, opened_version
from ..web.links import public_url
from . import notices
from . import service as recording
from .forms import ConfirmForm, CorrectionForm, RecordForm
from .rules import FIELDS, INCIDENTS, OUTCOMES, SAFEGUARDING, SETTINGS, cpoms_text, tells_the_dsl

#: A path on this portal: printable ASCII, no backslash, not "//" (browsers read "/\\x" and "/<tab>/x" as "//x").
LOCAL_PATH = re.compile(r"/(?![/\\])[!-\[\]-~]*")
#: Problems about a group of rows, shown at the group's fieldset rather than beside one field.
GROUPS = ("present", "observations", "actions")
FIELD_FOR_RECORD = {"started_at": "started", "ended_at": "ended"}


def _reader(visit_id: int) -> tuple[Person, Visit]:
    """The visit, for someone who may read its record: the visiting staff and the approvers."""
    visit = get_visit_or_abort(visit_id, current_person())
    me = current_person().at(visit.school_id)  # the roles that count are those at the visit's school
    if not workflow.reads_record(visit, me, policy_of(visit).rules.authorisers):
        abort(403)
    return me, visit


def _written(visit_id: int) -> tuple[Person, Visit, VisitRecord]:
    """The reader, the visit and its record (404 when there is none yet)."""
    me, visit = _reader(visit_id)
    record = recording.record_of(get_session(), visit)
    if record is None:
        abort(404)
    return me, visit, record


def record_page(visit_id: int) -> Response | tuple[str, int]:
    me, visit = _reader(visit_id)
    session = get_session()
    record = recording.record_of(session, visit)
    if recording.can_write(visit, me):
        return _write(me, visit, record)
    if request.method == "POST":
        abort(409, "This record is submitted and locked: add a correction instead.")
    if record is None or record.submitted_at is None:
        return render_template("home_visits/record.html", visit=visit, record=None, me=me), 200
    with unit_of_work(session):
        recording.log_access(session, visit, me, "opened", get_state().clock())
    return _show(me, visit, record)


def _show(me: Person, visit: Visit, record: VisitRecord, *, correction: CorrectionForm | None = None,
          confirm: ConfirmForm | None = None, status: int = 200) -> tuple[str, int]:
    session, authorisers = get_session(), policy_of(visit).rules.authorisers
    access = recording.access_log(session, visit) if me.has(*authorisers) else []
    page = render_template(
        "home_visits/record.html", visit=visit, record=record, me=me, access=access,
        reason=reason_words(policy_of(visit), visit.reason, visit.reason_other),
        labels={"outcome": OUTCOMES, "setting": SETTINGS, "safeguarding": SAFEGUARDING, "incident": INCIDENTS,
                "field": FIELDS},
        correction=correction or CorrectionForm(), confirm=confirm or ConfirmForm(),
        can_correct=workflow.leads_or_decides(visit, me, authorisers),
        can_confirm=me.id == visit.second_staff_id and record.confirmed_at is None,
    )
    return page, status


def _write(me: Person, visit: Visit, record: VisitRecord | None) -> Response | tuple[str, int]:
    st, session = get_state(), get_session()
    policy = policy_of(visit)
    zone = policy.zone
    form = RecordForm(dates=date_window(policy, st.clock().astimezone(zone).date()))
    day = visit.starts_at.astimezone(zone).date() if visit.starts_at else None
    context = mail_context()  # who an incident ticked here tells: the hint names them
    told = [p.name for p in context.authorisers(context.school_of(visit))] + list(context.incident_emails)

    def show(status: int = 200) -> tuple[str, int]:
        return render_template("home_visits/record_form.html", form=form, visit=visit, me=me, told=told,
                               handbook_url=handbook_url(visit.school_id),
                               reported=safety.reported_incidents(get_session(), visit.id)), status

    if request.method == "GET":
        if record is not None:
            form.fill(recording.data_of(record), zone, day)
            form.version.data = str(record.version)
        else:
            form.day.data = day
        return show()
    if form.grow() is not None:  # "Add another ...": the same form with one more row; nothing is saved
        return show()
    if not form.validate():
        return show(400 if "csrf_token" in form.errors else 422)
    now = st.clock()
    version = opened_version(form.version)
    try:
        with unit_of_work(session):
            record = recording.save(session, visit, form.to_data(zone), actor=me, now=now, version=version)
            session.flush()
            if form.submit.data and (problems := recording.submit(session, visit, record, actor=me,
                                                                  policy=policy, now=now)):
                raise NotSubmitted(problems)
            if form.submit.data and tells_the_dsl(recording.data_of(record)):
                notices.concern_to_dsl(session, visit, mail_context(), now,
                                       link=public_url("home_visits.record", visit_id=visit.id))
    except NotSubmitted as refused:
        for problem in refused.problems:
            name = FIELD_FOR_RECORD.get(problem.field, problem.field)
            if name in GROUPS:
                form.group_errors.setdefault(name, []).append(problem.message)
            else:
                form[name].errors.append(problem.message)
        return show(422)
    except (StaleRecord, StaleDataError):
        form.form_errors.append("This record was saved (perhaps in another tab or window) since you opened it, so "
                                "nothing was saved from this page: your words are below. Open the record again "
                                "to see what was saved, then make your changes.")
        return show(409)
    if form.submit.data:
        _send_incident(visit)
        send_notices()  # the DSL's email, when the record raises a concern
        flash("Record submitted. It is now locked; corrections can be added below it.")
    else:
        flash("Record saved as a draft.")
    return redirect(url_for("home_visits.record", visit_id=visit.id))


def _send_incident(visit: Visit) -> None:
    """An incident on the record goes to the head and line manager at once (retried by the sweep)."""
    session, st = get_session(), get_state()
    alert_id = safety.alert_id(session, visit.id, "incident")
    if alert_id is not None:
        result = deliver(session, mail_context(), st.clock(), only=alert_id)
        if not result.sent:
            flash("The incident email could not be sent yet; it will be retried. Tell the headteacher now.")


def correct(visit_id: int) -> Response | tuple[str, int]:
    """A correction under a submitted record (the lead or a senior leader); the original stays."""
    form = CorrectionForm()

    def add(session: Session, me: Person, visit: Visit, record: VisitRecord) -> None:
        recording.correct(session, visit, record, actor=me, policy=policy_of(visit), now=get_state().clock(),
                          field=form.field.data, text=form.text.data, reason=form.reason.data)

    return _amend(visit_id, form, add, "Correction added. The original record is unchanged above it.",
                  errors=form.text, correction=form)


def confirm(visit_id: int) -> Response | tuple[str, int]:
    """The second member of staff confirms the record, with an optional comment."""
    form = ConfirmForm()

    def sign(session: Session, me: Person, visit: Visit, record: VisitRecord) -> None:
        recording.confirm(session, visit, record, actor=me, now=get_state().clock(), comment=form.comment.data or "")

    return _amend(visit_id, form, sign, "Thank you: you have confirmed the record.", confirm=form)


def _amend(visit_id: int, form: Any, act: Callable[..., None], done: str, *, errors: Any = None,
           **forms: Any) -> Response | tuple[str, int]:
    """Add to a submitted record: check ``form``, ``act`` in one unit of work, say ``done``; a refused move
    shows its reason beside the ``errors`` field (or as an error page when there is none)."""
    me, visit, record = _written(visit_id)
    if not form.validate():
        return _show(me, visit, record, status=400 if "csrf_token" in form.errors else 422, **forms)
    try:
        with unit_of_work(get_session()) as session:
            act(session, me, visit, record)
    except WorkflowError as error:
        if errors is None:
            abort(error.status, str(error))
        errors.errors.append(str(error))
        return _show(me, visit, record, status=error.status, **forms)
    flash(done)
    return redirect(url_for("home_visits.record", visit_id=visit.id))


def cpoms_copy(visit_id: int) -> Response | tuple[str, int]:
    """The record as plain text to paste into the safeguarding system (``?format=txt`` for the file)."""
    me, visit = _reader(visit_id)
    st, session = get_state(), get_session()
    record = recording.record_of(session, visit)
    if record is None or record.submitted_at is None:
        abort(404)
    directory = st.directory
    names = {p.id: p.name for p in directory.staff()}
    policy = policy_of(visit)
    reason = reason_words(policy, visit.reason, visit.reason_other)
    text = cpoms_text(recording.data_of(record), visit=visit, reason=reason, names=names, zone=policy.zone,
                      corrections=list(record.corrections))
    with unit_of_work(session):
        recording.log_access(session, visit, me, "copied", st.clock())
    if request.args.get("format") == "txt":
        return Response(text, mimetype="text/plain"), 200
    return render_template("home_visits/cpoms.html", visit=visit, text=text, me=me), 200


def action_done(action_id: int) -> Response:
    me = current_person()
    st, session = get_state(), get_session()
    action: RecordAction = get_or_abort(RecordAction, action_id)
    visit = get_visit_or_abort(action.record.visit_id, me)
    me = me.at(visit.school_id)
    if not workflow.leads_or_decides(visit, me, policy_of(visit).rules.authorisers):
        abort(403)
    if not ConfirmForm().validate():
        abort(400, "The request was incomplete or expired: reload the page and try again.")
    with unit_of_work(session):
        recording.mark_done(session, action, visit, actor=me, now=st.clock())
    flash("Action marked as done.")
    target = request.form.get("next", "")
    return redirect(target if LOCAL_PATH.fullmatch(target) else url_for("home_visits.my_visits"))
