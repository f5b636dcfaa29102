"""The visit record: write and submit it, read it, correct it, confirm it, copy it for CPOMS."""

from __future__ import annotations

import re

from flask import Response, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from . import escalation, recording, workflow
from .directory import Person
from .forms import date_window, opened_version
from .models import AccessEntry, Alert, RecordAction, Visit, VisitRecord
from .record_forms import ConfirmForm, CorrectionForm, RecordForm
from .records import FIELDS, INCIDENTS, OUTCOMES, SAFEGUARDING, SETTINGS, cpoms_text
from .views import current_person, db_session, find_visit, mail_context, plugin_state

#: A path on this portal: printable ASCII, no backslash, not "//" (browsers read "/\\x" and "/<tab>/x" as "//x").
LOCAL_PATH = re.compile(r"/(?![/\\])[!-\[\]-~]*")
#: Problems about a group of rows, shown at the group's fieldset rather than beside one field.
GROUPS = ("present", "observations", "actions")
FIELD_FOR_RECORD = {"started_at": "started", "ended_at": "ended"}


def _reader(visit_id: int) -> tuple[Person, Visit]:
    """The visit, for someone who may read its record: the visiting staff and the approvers."""
    me = current_person()
    visit = find_visit(visit_id, me)
    if not workflow.reads_record(visit, me, plugin_state().policy.rules.authorisers):
        abort(403)
    return me, visit


def _written(visit_id: int) -> tuple[Person, Visit, VisitRecord]:
    """The reader, the visit and its record (404 when there is none yet)."""
    me, visit = _reader(visit_id)
    record = recording.record_of(db_session(), visit)
    if record is None:
        abort(404)
    return me, visit, record


def record_page(visit_id: int) -> Response | tuple[str, int]:
    me, visit = _reader(visit_id)
    session = db_session()
    record = recording.record_of(session, visit)
    if recording.can_write(visit, me):
        return _write(me, visit, record)
    if request.method == "POST":
        abort(409, "This record is submitted and locked: add a correction instead.")
    if record is None or record.submitted_at is None:
        return render_template("home_visits/record.html", visit=visit, record=None, me=me), 200
    st = plugin_state()
    recording.log_access(session, visit, me, "opened", st.clock())
    session.commit()
    return _show(me, visit, record)


def _show(me: Person, visit: Visit, record: VisitRecord, *, correction: CorrectionForm | None = None,
          confirm: ConfirmForm | None = None, status: int = 200) -> tuple[str, int]:
    session, authorisers = db_session(), plugin_state().policy.rules.authorisers
    access = session.scalars(
        select(AccessEntry).where(AccessEntry.visit_id == visit.id).order_by(AccessEntry.id.desc()).limit(50)
    ).all() if me.has(*authorisers) else []
    page = render_template(
        "home_visits/record.html", visit=visit, record=record, me=me, access=access,
        labels={"outcome": OUTCOMES, "setting": SETTINGS, "safeguarding": SAFEGUARDING, "incident": INCIDENTS,
                "field": FIELDS},
        correction=correction or CorrectionForm(), confirm=confirm or ConfirmForm(),
        can_correct=workflow.leads_or_decides(visit, me, authorisers),
        can_confirm=me.id == visit.second_staff_id and record.confirmed_at is None,
    )
    return page, status


def _write(me: Person, visit: Visit, record: VisitRecord | None) -> Response | tuple[str, int]:
    st, session = plugin_state(), db_session()
    zone = st.policy.zone
    form = RecordForm(dates=date_window(st.policy, st.clock().astimezone(zone).date()))
    day = visit.starts_at.astimezone(zone).date() if visit.starts_at else None

    def show(status: int = 200) -> tuple[str, int]:
        return render_template("home_visits/record_form.html", form=form, visit=visit, me=me,
                               reported=escalation.reported_incidents(db_session(), visit.id)), status

    if request.method == "GET":
        if record is not None:
            form.fill(recording.data_of(record), zone, day)
            form.version.data = str(record.version)
        else:
            form.day.data = day
        return show()
    if not form.validate():
        return show(400 if "csrf_token" in form.errors else 422)
    now = st.clock()
    version = opened_version(form.version)
    try:
        record = recording.save(session, visit, form.to_data(zone), actor=me, now=now, version=version)
        session.flush()
        if form.submit.data:
            if problems := recording.submit(session, visit, record, actor=me, policy=st.policy, now=now):
                session.rollback()
                for problem in problems:
                    name = FIELD_FOR_RECORD.get(problem.field, problem.field)
                    if name in GROUPS:
                        form.group_errors.setdefault(name, []).append(problem.message)
                    else:
                        form[name].errors.append(problem.message)
                return show(422)
        session.commit()
    except (recording.StaleRecord, StaleDataError):
        session.rollback()
        form.form_errors.append("This record changed since you opened it. Open it again, then make your changes.")
        return show(409)
    if form.submit.data:
        _send_incident(visit)
        flash("Record submitted. It is now locked; corrections can be added below it.")
    else:
        flash("Record saved as a draft.")
    return redirect(url_for("home_visits.record", visit_id=visit.id))


def _send_incident(visit: Visit) -> None:
    """An incident on the record goes to the head and line manager at once (retried by the sweep)."""
    session, st = db_session(), plugin_state()
    alert_id = session.scalar(select(Alert.id).where(Alert.visit_id == visit.id, Alert.key == "incident"))
    if alert_id is not None:
        result = escalation.deliver(session, mail_context(), st.clock(), only=alert_id)
        if not result.sent:
            flash("The incident email could not be sent yet; it will be retried. Tell the headteacher now.")


def correct(visit_id: int) -> Response | tuple[str, int]:
    me, visit, record = _written(visit_id)
    st, session = plugin_state(), db_session()
    form = CorrectionForm()
    if not form.validate():
        return _show(me, visit, record, correction=form, status=400 if "csrf_token" in form.errors else 422)
    try:
        recording.correct(session, visit, record, actor=me, policy=st.policy, now=st.clock(),
                          field=form.field.data, text=form.text.data, reason=form.reason.data)
        session.commit()
    except workflow.WorkflowError as error:
        session.rollback()
        form.text.errors.append(str(error))
        return _show(me, visit, record, correction=form, status=error.status)
    flash("Correction added. The original record is unchanged above it.")
    return redirect(url_for("home_visits.record", visit_id=visit.id))


def confirm(visit_id: int) -> Response | tuple[str, int]:
    me, visit, record = _written(visit_id)
    st, session = plugin_state(), db_session()
    form = ConfirmForm()
    if not form.validate():
        return _show(me, visit, record, confirm=form, status=400 if "csrf_token" in form.errors else 422)
    try:
        recording.confirm(session, visit, record, actor=me, now=st.clock(), comment=form.comment.data or "")
        session.commit()
    except workflow.WorkflowError as error:
        session.rollback()
        abort(error.status, str(error))
    flash("Thank you: you have confirmed the record.")
    return redirect(url_for("home_visits.record", visit_id=visit.id))


def cpoms_copy(visit_id: int) -> Response | tuple[str, int]:
    """The record as plain text to paste into the safeguarding system (``?format=txt`` for the file)."""
    me, visit = _reader(visit_id)
    st, session = plugin_state(), db_session()
    record = recording.record_of(session, visit)
    if record is None or record.submitted_at is None:
        abort(404)
    directory = st.directory
    names = {p.id: p.name for p in directory.staff()}
    text = cpoms_text(recording.data_of(record), visit=visit, names=names, zone=st.policy.zone,
                      corrections=list(record.corrections))
    recording.log_access(session, visit, me, "copied", st.clock())
    session.commit()
    if request.args.get("format") == "txt":
        return Response(text, mimetype="text/plain"), 200
    return render_template("home_visits/cpoms.html", visit=visit, text=text, me=me), 200


def action_done(action_id: int) -> Response:
    me = current_person()
    st, session = plugin_state(), db_session()
    action = session.get(RecordAction, action_id)
    if action is None:
        abort(404)
    visit = find_visit(action.record.visit_id, me)
    if not workflow.leads_or_decides(visit, me, st.policy.rules.authorisers):
        abort(403)
    if not ConfirmForm().validate():
        abort(400, "The request was incomplete or expired: reload the page and try again.")
    recording.mark_done(session, action, visit, actor=me, now=st.clock())
    session.commit()
    flash("Action marked as done.")
    target = request.form.get("next", "")
    return redirect(target if LOCAL_PATH.fullmatch(target) else url_for("home_visits.my_visits"))
