"""A person's own email settings: plan emails and calendar invitations on or off (safety alerts cannot be
turned off)."""

from __future__ import annotations

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, SubmitField

from ..db import unit_of_work
from ..web.context import current_person, get_session
from . import notices


class PreferenceForm(FlaskForm):
    plan_emails = BooleanField("Email me about plans: submitted, authorised or declined, reminders, the digest")
    invitations = BooleanField("Send me each authorised visit as a calendar invitation (approvers and office)")
    save = SubmitField("Save")


def settings() -> Response | tuple[str, int]:
    """A person's own email choices. Safety alerts are not listed: they cannot be turned off."""
    me = current_person()
    session = get_session()
    preference = notices.preference(session, me)
    default = bool(current_app.config["HOME_VISITS_CALENDAR_INVITES"])
    invited = default if preference.invitations is None else preference.invitations
    form = PreferenceForm(data={"plan_emails": preference.plan_emails, "invitations": invited})
    if request.method == "POST":
        form = PreferenceForm()
        if not form.validate():
            return render_template("home_visits/settings.html", form=form, me=me), 400
        with unit_of_work(session):
            preference.plan_emails = bool(form.plan_emails.data)
            preference.invitations = bool(form.invitations.data)
            session.merge(preference)
        flash("Saved.")
        return redirect(url_for("home_visits.settings"))
    return render_template("home_visits/settings.html", form=form, me=me), 200
