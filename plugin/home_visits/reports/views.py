"""Reports for SLT: visits in a date range by reason, outcome and staff, and the CSV download."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any

from flask import Response, abort, render_template, request
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SubmitField
from wtforms.validators import InputRequired

from ..clock import at_school
from ..plans import workflow
from ..schools import TRUST
from ..web.context import current_person, get_session, get_state, schools_where
from . import service as reports
from . import terms


class ReportForm(FlaskForm):
    """A GET form: nothing changes, so no CSRF token."""

    class Meta:
        csrf = False

    start = DateField("From", validators=[InputRequired("Enter the first day.")])
    end = DateField("To (inclusive)", validators=[InputRequired("Enter the last day.")])
    names = BooleanField("Include pupils' full names in the CSV")
    show = SubmitField("Show")


@dataclass(frozen=True)
class Scope:
    """What a report covers: ``chosen`` is the ``school`` asked for (an id, :data:`TRUST` for the whole
    trust, ``""`` when not asked), ``ids`` the schools counted, ``choices`` the schools the person may report
    on (a select when more than one), ``trust`` whether the portal has ``HOME_VISITS_SCHOOLS``."""

    chosen: str
    ids: list[str]
    choices: list[Any]
    trust: bool


def _scope() -> Scope:
    """The schools whose every record the person reads (403 when none); ``?school=`` picks one of them, or
    ``trust`` all of them (when more than one); anything else is a 404, so ids reveal nothing."""
    st = get_state()
    readable = schools_where(current_person(), workflow.reads_every_record)
    if not readable:
        abort(403)
    chosen = request.args.get("school", "")
    if chosen and not (chosen in readable or (chosen == TRUST and len(readable) > 1)):
        abort(404)
    ids = readable if chosen in ("", TRUST) else [chosen]
    return Scope(chosen, ids, [st.schools.of(each) for each in readable], st.schools.trust)


def _table(scope: Scope) -> tuple[ReportForm, list[dict[str, str]] | None]:
    st = get_state()
    policy = st.policy_for(scope.ids[0])
    today = st.clock().astimezone(policy.zone).date()
    form = ReportForm(request.args if request.args else None, start=today - timedelta(days=30), end=today)
    if request.args and not form.validate():
        return form, None
    if form.end.data < form.start.data:
        form.end.errors = ["The last day must not be before the first."]
        return form, None
    if form.start.data.year < 1900 or form.end.data.year > 2999:  # beyond them the times cannot be worked out
        (form.start if form.start.data.year < 1900 else form.end).errors = ["Choose a day from 1900 to 2999."]
        return form, None
    zone = policy.zone
    start = at_school(form.start.data, time(0), zone)
    end = at_school(form.end.data + timedelta(days=1), time(0), zone)

    def name(person_id: str) -> str:
        person = st.directory.find(person_id)
        return person.name if person else person_id

    schools = {each: (st.schools.of(each).name, st.policy_for(each)) for each in scope.ids} if scope.trust else None
    table = reports.rows(get_session(), start=start, end=end, policy=policy, name=name, names=bool(form.names.data),
                         schools=schools)
    return form, table


def report_page() -> tuple[str, int]:
    scope = _scope()
    form, table = _table(scope)
    summary = reports.summarise(table) if table is not None else None
    status = 200 if table is not None else 422
    today = get_state().clock().astimezone(get_state().policy_for(scope.ids[0]).zone).date()
    unwritten, unwritten_total = reports.unwritten(get_session(), scope.ids)
    return render_template("home_visits/reports.html", form=form, summary=summary, me=current_person(),
                           presets=terms.presets(today), scope=scope, school=scope.chosen or None,
                           unwritten=unwritten, unwritten_total=unwritten_total), status


def report_csv() -> Response:
    scope = _scope()
    form, table = _table(scope)
    if table is None:
        abort(422, "Choose a valid date range.")
    which = (TRUST if len(scope.ids) > 1 else scope.ids[0]) + "-" if scope.trust else ""
    filename = f"home-visits-{which}{form.start.data:%Y%m%d}-{form.end.data:%Y%m%d}.csv"
    columns = reports.TRUST_COLUMNS if scope.trust else reports.COLUMNS
    return Response(reports.to_csv(table, columns), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
