"""The approver's day and the visiting staff's paperwork: the visit card and email settings."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, SubmitField

from . import workflow
from .models import Preference
from .views import current_person, db_session, find_visit, plugin_state


class PreferenceForm(FlaskForm):
    plan_emails = BooleanField("Email me about plans: submitted, authorised or declined, reminders, the digest")
    save = SubmitField("Save")


def visit_card(visit_id: int) -> tuple[str, int]:
    """One printable page to carry: where, when, who, who to ring, what to do if not back, what to take."""
    me = current_person()
    visit = find_visit(visit_id, me)
    if not workflow.visiting_or_oversees(visit, me, plugin_state().policy.rules.authorisers):
        return render_template("home_visits/card.html", visit=None, me=me), 403
    return render_template("home_visits/card.html", visit=visit, me=me), 200


def settings() -> Response | tuple[str, int]:
    """A person's own email choices. Safety alerts are not listed: they cannot be turned off."""
    me = current_person()
    session = db_session()
    preference = session.get(Preference, me.id) or Preference(person_id=me.id, plan_emails=True)
    form = PreferenceForm(data={"plan_emails": preference.plan_emails})
    if request.method == "POST":
        form = PreferenceForm()
        if not form.validate():
            return render_template("home_visits/settings.html", form=form, me=me), 400
        preference.plan_emails = bool(form.plan_emails.data)
        session.merge(preference)
        session.commit()
        flash("Saved.")
        return redirect(url_for("home_visits.settings"))
    return render_template("home_visits/settings.html", form=form, me=me), 200
