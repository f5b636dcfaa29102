"""The visit record's forms: the record itself (rows for people, observations and actions),
a correction, and the second member of staff's confirmation."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from flask_wtf import FlaskForm
from wtforms import Form
from wtforms import fields as wtf
from wtforms.validators import InputRequired, Length, Optional

from ..clock import utc_at_school
from ..web import fields as shared
from .rules import FIELDS, INCIDENTS, OUTCOMES, SAFEGUARDING, SETTINGS, Action, RecordData

#: Blank rows offered at first for people, observations and actions (blank ones are ignored); "Add
#: another" buttons post the form back with one more row, saving nothing (no JavaScript needed).
ROWS = 1
#: Row group -> its "Add another" button.
GROWS = {"present": "add_present", "observations": "add_observation", "actions": "add_action"}


class PersonRow(Form):
    name = shared.text_field(120, label="Name")
    relationship = shared.text_field(120, label="Relationship to the child")
    agreed = wtf.SelectField("Family happy to talk in front of them?", default="yes",
                         choices=shared.options([("yes", "Yes"), ("no", "No")]))


class ObservationRow(Form):
    kind = wtf.SelectField("Fact or opinion", default="", choices=shared.options([("", "Choose…"), ("fact", "Fact"),
                                                                         ("opinion", "Opinion")]))
    text = shared.text_field(1000, lines=True, label="Observation")


class ActionRow(Form):
    what = shared.text_field(500, label="Action")
    owner = shared.text_field(120, label="Who will do it")
    due = wtf.DateField("Due by", validators=[Optional()])


def _radio(label: str, choices: dict[str, str]) -> wtf.RadioField:
    # strip_whitespace=False: whitespace is not "no answer" here; it must fail the choice check, not be stored.
    return wtf.RadioField(label, choices=shared.options(choices.items()), validators=[Optional(strip_whitespace=False)])


class Rows(wtf.FieldList):
    """A list of rows whose numbers in the posted names (``actions-3-what``) are read only when short:
    WTForms' own reading calls ``int()`` on any run of digits, and 5,000 of them was a 500."""

    def _extract_indices(self, prefix: str, formdata: Any) -> Any:
        offset = len(prefix) + 1
        for key in formdata:
            if key.startswith(prefix):
                number = key[offset:].split(self._field_separator, 1)[0]
                if number.isdigit() and len(number) <= 6:
                    yield int(number)


class RecordForm(FlaskForm):
    outcome = _radio("What happened", OUTCOMES)
    setting = _radio("Where you talked", SETTINGS)
    day = wtf.DateField("Date of the visit", validators=[Optional()])
    started = wtf.TimeField("Started at", validators=[Optional()])
    ended = wtf.TimeField("Ended at", validators=[Optional()])
    present = Rows(wtf.FormField(PersonRow), min_entries=ROWS, max_entries=12)
    points = shared.text_field(5000, lines=True, label="Points discussed")
    child_voice = shared.text_field(3000, lines=True, label="The child's voice: what they said and how they seemed")
    parents_views = shared.text_field(3000, lines=True, label="The parents' or carers' views")
    agreements = shared.text_field(3000, lines=True, label="Agreements reached")
    concerns = shared.text_field(3000, lines=True, label="Concerns, however small")
    observations = Rows(wtf.FormField(ObservationRow), min_entries=ROWS, max_entries=15)
    safeguarding = _radio("Safeguarding", SAFEGUARDING)
    safeguarding_where = shared.text_field(200, label="Where you raised it (for example CPOMS)")
    safeguarding_why = shared.text_field(200, label="If you wrote a concern: why it is not a safeguarding matter")
    incident_kinds = shared.MultiCheckboxField("Incidents on the visit", choices=shared.options(INCIDENTS.items()))
    incident_details = shared.text_field(3000, lines=True, label="What happened")
    actions = Rows(wtf.FormField(ActionRow), min_entries=ROWS, max_entries=12)
    reflection = shared.text_field(3000, lines=True, label="Your private reflection: how the visit felt, and why")
    version = wtf.HiddenField()
    add_present = wtf.SubmitField("Add another person")
    add_observation = wtf.SubmitField("Add another observation")
    add_action = wtf.SubmitField("Add another action")
    save = wtf.SubmitField("Save draft")
    submit = wtf.SubmitField("Submit the record")

    def __init__(self, *args: Any, dates: tuple[date, date], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: The dates the record and its actions may name (``web.fields.date_window``).
        self.dates = dates
        #: Messages for the row groups (people, observations, actions), shown at their fieldset.
        self.group_errors: dict[str, list[str]] = {}

    def grow(self) -> str | None:
        """When an "Add another" button was pressed: add a blank row to its group and name the group."""
        for group, button in GROWS.items():
            if self[button].data:
                rows = self[group]
                if len(rows.entries) < (rows.max_entries or 99):
                    rows.append_entry()
                return group
        return None

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        dated = [self.day, *(row.form.due for row in self.actions)]
        return all([shared.within(field, self.dates) for field in dated]) and valid

    def to_data(self, zone: Any) -> RecordData:
        def moment(at: time | None) -> datetime | None:
            return utc_at_school(self.day.data, at, zone)

        return shared.from_form(
            self, RecordData, started_at=moment(self.started.data), ended_at=moment(self.ended.data),
            present=[{"name": r.form.name.data, "relationship": r.form.relationship.data or "",
                      "agreed": r.form.agreed.data != "no"} for r in self.present if r.form.name.data],
            observations=[{"kind": r.form.kind.data, "text": r.form.text.data}
                          for r in self.observations if r.form.text.data],
            actions=[Action(r.form.what.data, r.form.owner.data or "", r.form.due.data)
                     for r in self.actions if r.form.what.data],
        )

    def fill(self, data: RecordData, zone: Any, default_day: date | None) -> None:
        shared.to_form(self, data, RecordData)
        start = data.started_at.astimezone(zone) if data.started_at else None
        self.day.data = start.date() if start else default_day
        self.started.data = start.time() if start else None
        self.ended.data = data.ended_at.astimezone(zone).time() if data.ended_at else None
        _rows(self.present, [{"name": p["name"], "relationship": p["relationship"],
                              "agreed": "yes" if p.get("agreed", True) else "no"} for p in data.present])
        _rows(self.observations, data.observations)
        _rows(self.actions, [{"what": a.what, "owner": a.owner, "due": a.due} for a in data.actions])


def _rows(field: wtf.FieldList, values: list[dict[str, Any]]) -> None:
    """Put stored rows into a row group, keeping blank rows to add more."""
    while len(field.entries) < len(values) + 1 and len(field.entries) < (field.max_entries or 99):
        field.append_entry()
    for entry, value in zip(field.entries, values, strict=False):
        for name, item in value.items():
            entry.form[name].data = item


class CorrectionForm(FlaskForm):
    field = wtf.SelectField("What the correction is about", default="",
                        choices=shared.options([("", "Choose…"), *FIELDS.items()]),
                        validators=[InputRequired("Choose what the correction is about.")])
    text = wtf.TextAreaField("The correction", filters=[shared.strip_text], validators=[
        InputRequired("Write the correction."), Length(max=3000), shared.plain_text])
    reason = wtf.StringField("Why it needs correcting", filters=[shared.strip_text], validators=[
        InputRequired("Say why the record needs correcting."), Length(max=500), shared.single_line])
    add = wtf.SubmitField("Add the correction")


class ConfirmForm(FlaskForm):
    comment = shared.text_field(2000, lines=True, label="Your comment (optional)")
    confirm = wtf.SubmitField("Confirm the record")
