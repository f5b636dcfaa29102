"""Reports for SLT: visits in a date range by reason, outcome and staff, and the CSV download."""

from __future__ import annotations

from datetime import time, timedelta

from flask import Response, abort, render_template, request
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SubmitField
from wtforms.validators import InputRequired

from ..clock import at_school
from ..plans import workflow
from ..web.context import current_person, get_session, get_state
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


def _table() -> tuple[ReportForm, list[dict[str, str]] | None]:
    me = current_person()
    st = get_state()
    if not workflow.reads_every_record(me, st.policy.rules.authorisers):
        abort(403)
    today = st.clock().astimezone(st.policy.zone).date()
    form = ReportForm(request.args if request.args else None, start=today - timedelta(days=30), end=today)
    if request.args and not form.validate():
        return form, None
    if form.end.data < form.start.data:
        form.end.errors = ["The last day must not be before the first."]
        return form, None
    if form.start.data.year < 1900 or form.end.data.year > 2999:  # beyond them the times cannot be worked out
        (form.start if form.start.data.year < 1900 else form.end).errors = ["Choose a day from 1900 to 2999."]
        return form, None
    zone = st.policy.zone
    start = at_school(form.start.data, time(0), zone)
    end = at_school(form.end.data + timedelta(days=1), time(0), zone)

    def name(person_id: str) -> str:
        person = st.directory.find(person_id)
        return person.name if person else person_id

    table = reports.rows(get_session(), start=start, end=end, policy=st.policy, name=name, names=bool(form.names.data))
    return form, table


def report_page() -> tuple[str, int]:
    form, table = _table()
    summary = reports.summarise(table) if table is not None else None
    status = 200 if table is not None else 422
    today = get_state().clock().astimezone(get_state().policy.zone).date()
    return render_template("home_visits/reports.html", form=form, summary=summary, me=current_person(),
                           presets=terms.presets(today)), status


def report_csv() -> Response:
    form, table = _table()
    if table is None:
        abort(422, "Choose a valid date range.")
    filename = f"home-visits-{form.start.data:%Y%m%d}-{form.end.data:%Y%m%d}.csv"
    return Response(reports.to_csv(table), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
