"""The safety chain's forms on the visit page: report an incident, not going ahead, extend (Flask-WTF for CSRF).
The one-tap buttons need only CSRF (:class:`~..web.guards.SafetyForm`)."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField, TimeField
from wtforms.validators import InputRequired, Length

from ..web.fields import options, single_line, strip_text


class IncidentForm(FlaskForm):
    """"Report an incident" on the visit page: what kind, in one tap (the details go in the record later)."""

    kind = SelectField("What happened", choices=[], validators=[InputRequired("Choose what happened.")])
    report = SubmitField("Report an incident")

    def __init__(self, *args: Any, kinds: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = options([("", "Choose…"), *kinds.items()])


class CallOffForm(FlaskForm):
    """"Not going ahead": an authorised visit that did not happen, and why (the office sees it)."""

    reason = StringField(
        "Why it is not going ahead",
        validators=[InputRequired("Say why the visit is not going ahead."), Length(max=500), single_line],
        filters=[strip_text],
    )
    call_off = SubmitField("Not going ahead")


class ExtendForm(FlaskForm):
    until = TimeField("New time you expect to be back", validators=[InputRequired("Enter the new time.")])
    reason = StringField(
        "Why you need longer",
        validators=[InputRequired("Say why you need longer, so the office knows."), Length(max=500), single_line],
        filters=[strip_text],
    )
    extend = SubmitField("Extend")
