"""Thin views: parse the request, call the domain modules, render a template."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from . import errors, escalation, notices, recording, safety, services, workflow
from .directory import Person, role_names
from .extension import MAX_ID, State, state
from .forms import (
    AGREED,
    APPOINTMENT,
    FIELD_FOR_PLAN,
    TRAVEL,
    CallOffForm,
    DecisionForm,
    ExtendForm,
    IncidentForm,
    PlanForm,
    SafetyForm,
    opened_version,
)
from .links import public_url
from .mail import MailSettings, mailer
from .models import Visit
from .rules import Plan, is_evening

#: Which handbook page explains each section of the plan form.
HANDBOOK_PAGES = {
    "pupil": "filing-a-plan.html",
    "reason": "right-step.html",
    "when": "before.html",
    "staff": "before.html",
    "family": "families-and-agencies.html",
    "risk": "before.html#before-risk-assessment",
    "checklist": "before.html",
    "travel": "getting-there.html",
}


def plugin_state() -> State:
    return state(current_app)


def db_session() -> Session:
    if "home_visits_session" not in g:
        g.home_visits_session = plugin_state().sessions()
    return g.home_visits_session  # type: ignore[no-any-return]


def current_person() -> Person:
    """The signed-in person; the host's login page for strangers (a 401 page when it cannot be built), a
    403 page that says who grants roles for users with none here."""
    if not current_user.is_authenticated:
        if (to_login := errors.login_redirect(plugin_state().warned)) is not None:
            abort(to_login)
        abort(401)
    user = current_user._get_current_object()
    person = plugin_state().directory.person(user)
    if not person.roles:
        errors.log.info("Home visits: user %s has none of its roles (staff, approver, office); roles seen: %s",
                        person.id, ", ".join(role_names(getattr(user, "roles", None))) or "none")
        abort(403, errors.NO_ROLE)
    return person


def _sees_all(person: Person) -> bool:
    return workflow.sees_everything(person, plugin_state().policy.rules.authorisers)


def find_visit(visit_id: int, me: Person) -> Visit:
    """The visit, if ``me`` may see it; 404 otherwise, so ids of other visits reveal nothing."""
    visit = db_session().get(Visit, visit_id)
    if visit is None or not (_sees_all(me) or visit.involves(me.id)):
        abort(404)
    return visit


def mail_context() -> escalation.Context:
    """Policy, directory, mail and links for a sweep or an alert, from the app's config."""
    st, config = plugin_state(), current_app.config
    return escalation.Context(
        policy=st.policy,
        directory=st.directory,
        mailer=mailer(MailSettings.from_config(config)),
        link=lambda visit_id: public_url("home_visits.visit", visit_id=visit_id),
        out_of_hours_email=config["HOME_VISITS_OUT_OF_HOURS_EMAIL"],
        incident_emails=tuple(config["HOME_VISITS_INCIDENT_EMAILS"]),
    )


def send_notices() -> None:
    """Try the plan emails just queued; any that cannot go now are retried by the escalation sweep."""
    notices.deliver(db_session(), mail_context(), plugin_state().clock())


def _people_lookup() -> Any:
    """``person(id)`` for templates: each person looked up once per request."""
    if "home_visits_people" not in g:
        g.home_visits_people = {}
    cache, directory = g.home_visits_people, plugin_state().directory

    def person(person_id: str | None) -> Person | None:
        if not person_id:
            return None
        if person_id not in cache:
            cache[person_id] = directory.find(person_id)
        return cache[person_id]

    return person


def handbook_url() -> str:
    """``HOME_VISITS_HANDBOOK_URL`` when the school hosts the handbook itself, else the plugin's own copy."""
    configured = current_app.config["HOME_VISITS_HANDBOOK_URL"]
    return configured.rstrip("/") + "/" if configured else url_for("home_visits.handbook", path="")


def template_globals() -> dict[str, Any]:
    st = plugin_state()
    return {
        "home_visits_base": current_app.config["HOME_VISITS_BASE_TEMPLATE"],
        "handbook_url": handbook_url(),
        "handbook_pages": HANDBOOK_PAGES,
        "state_labels": workflow.LABELS,
        "incident_kinds": escalation.INCIDENT_KINDS,
        "policy": st.policy,
        "person": _people_lookup(),
        "local": lambda moment: moment.astimezone(st.policy.zone) if moment else None,
    }


def _page_number() -> int:
    number = request.args.get("page", "1")
    if not (number.isdecimal() and len(number) <= 6) or not 1 <= int(number) <= 100_000:
        abort(400, "The page number must be a whole number from 1.")
    return int(number)


def my_visits() -> str:
    me = current_person()
    everyone = request.args.get("scope") == "all" and _sees_all(me)
    size = current_app.config["HOME_VISITS_PER_PAGE"]
    if everyone:
        query = services.visible_to(me, everyone=True).order_by(Visit.starts_at.desc(), Visit.id.desc())
        visits, total = services.page(db_session(), query, number=_page_number(), size=size)
    else:
        visits, total = services.my_page(db_session(), me, number=_page_number(), size=size)
    return render_template(
        "home_visits/my_visits.html", visits=visits, total=total, page=_page_number(), size=size,
        everyone=everyone, can_see_all=_sees_all(me), me=me, form=SafetyForm(),
        open_actions=recording.open_actions(db_session(), lead_id=me.id),
    )


def approvals() -> str:
    me = current_person()
    if not me.has(*plugin_state().policy.rules.authorisers):
        abort(403)
    query = select(Visit).where(Visit.state == workflow.SUBMITTED).order_by(Visit.starts_at, Visit.id)
    size = current_app.config["HOME_VISITS_PER_PAGE"]
    visits, total = services.page(db_session(), query, number=_page_number(), size=size)
    st = plugin_state()
    since = services.waiting_since(db_session(), [v.id for v in visits])
    now = st.clock()
    return render_template(
        "home_visits/approvals.html", visits=visits, total=total, page=_page_number(), size=size, me=me,
        form=DecisionForm(), waited={i: services.how_long(now - at) for i, at in since.items()},
        one_click={v.id for v in visits if shown_whole(v) and workflow.allowed("authorise", v, me,
                                                                               st.policy.rules.authorisers)},
    )


def shown_whole(visit: Visit) -> bool:
    """A plan the queue's row shows whole, so it may be authorised from there in one tap: no risk
    factor, two staff, in the daytime. Anything else is decided on the visit page."""
    plan = services.plan_of(visit)
    return not visit.risk_factors and bool(visit.second_staff_id) and not is_evening(plan, plugin_state().policy)


#: Plain words for the plan's choice fields, as the visit page shows them.
CHOICE_WORDS = {"family_agreed": {c.value: c.label for c in AGREED},
                "appointment": {c.value: c.label for c in APPOINTMENT},
                "travel": {c.value: c.label for c in TRAVEL}}


def show_visit(
    visit: Visit, me: Person, *, form: DecisionForm | None = None, extend_form: Any = None,
    incident_form: Any = None, call_off_form: Any = None, status: int = 200
) -> tuple[str, int]:
    """The visit page: the plan, the buttons this person may use now, and the history."""
    st, session = plugin_state(), db_session()
    policy, now = st.policy, st.clock()
    authorisers = policy.rules.authorisers
    actions = [a for a in ("authorise", "decline", "cancel") if workflow.allowed(a, visit, me, authorisers)]
    safety_status, problem = safety.checked_status(visit, policy, now)
    visiting = workflow.is_visiting(visit, me)
    form = form or DecisionForm()
    form.version.data = str(visit.version)  # the version this page shows: a decision is about it
    page = render_template(
        "home_visits/visit.html", visit=visit, me=me, form=form, actions=actions, words=CHOICE_WORDS,
        can_edit=visit.state in workflow.EDITABLE and me.id == visit.lead_id,
        visiting=visiting, sees_all=workflow.sees_everything(me, authorisers),
        safety_status=safety_status, safety_problem=problem,
        overdue=safety_status == safety.OVERDUE,
        minutes_overdue=safety.minutes_overdue(visit, policy, now) if safety_status == safety.OVERDUE else 0,
        may_check_out=not problem and safety.may_check_out_now(visit, policy, now),
        check_out_opens=None if problem else safety.check_out_opens(visit, policy),
        may_report=visiting and safety.may_report_incident(visit, policy, now),
        alarms=services.open_alarms(session, [visit.id]), reported=escalation.reported_incidents(session, visit.id),
        safety_form=SafetyForm(), extend_form=extend_form or ExtendForm(),
        incident_form=incident_form or IncidentForm(kinds=escalation.INCIDENT_KINDS),
        call_off_form=call_off_form or CallOffForm(),
        record=recording.record_of(session, visit),
        can_read_record=workflow.reads_record(visit, me, authorisers),
        record_actions=workflow.RECORD_CONTENT_ACTIONS,
        family=family_actions(visit, me) if visit.postcode else FamilyActions([], []),
    )
    return page, status


@dataclass
class FamilyActions:
    """Open actions from earlier visits to a family: those ``me`` may read (with their visit), and the
    leads to ask about the others (whose records ``me`` may not read: only that they exist is shown)."""

    readable: list[tuple[Any, Visit]]
    ask: list[str]


def family_actions(visit: Visit, me: Person, *, including: bool = False) -> FamilyActions:
    rows = recording.open_actions(db_session(), visit=visit, including=including)
    authorisers = plugin_state().policy.rules.authorisers
    readable = [(action, earlier) for action, earlier in rows if workflow.reads_record(earlier, me, authorisers)]
    ask = list(dict.fromkeys(earlier.lead_id for _, earlier in rows if (_, earlier) not in readable))
    return FamilyActions(readable, ask)


def visit_page(visit_id: int) -> tuple[str, int]:
    me = current_person()
    return show_visit(find_visit(visit_id, me), me)


def new_plan() -> Response | tuple[str, int] | str:
    """A new plan; ``?like=<id>`` copies the family, address, staff and contact of an earlier visit."""
    me = current_person()
    if not me.has("staff"):
        abort(403)
    like = request.args.get("like", "")
    if like and not (like.isdecimal() and len(like) <= 10 and int(like) <= MAX_ID):
        abort(400, "The visit to copy must be given by its number.")
    return _plan_form(me, None, like=find_visit(int(like), me) if like else None)


def edit_plan(visit_id: int) -> Response | tuple[str, int] | str:
    me = current_person()
    visit = find_visit(visit_id, me)
    if me.id != visit.lead_id or visit.state not in workflow.EDITABLE:
        abort(403)
    return _plan_form(me, visit)


#: What "plan another visit like this" copies; dates, checklist and risks are for the new visit to decide.
COPIED = ("pupil", "address", "postcode", "reason", "reason_other", "second_staff_id", "contact_id",
          "contact_phone", "language_needs", "agencies")


def _plan_form(me: Person, visit: Visit | None, *, like: Visit | None = None) -> Response | tuple[str, int] | str:
    st, session = plugin_state(), db_session()
    form = PlanForm(policy=st.policy, staff=st.directory.staff(), me=me,
                    today=st.clock().astimezone(st.policy.zone).date())
    submittable = visit is None or visit.state in (workflow.DRAFT, workflow.DECLINED)
    if not submittable:
        form.save.label.text = "Save changes"

    def show(status: int = 200) -> tuple[str, int]:
        page = render_template(
            "home_visits/plan_form.html", form=form, visit=visit, submittable=submittable, me=me, like=like,
            family=family_actions(like, me, including=True) if like else FamilyActions([], []),
        )
        return page, status

    if request.method == "GET":
        if visit is not None:
            form.fill(services.plan_of(visit), st.policy)
            form.version.data = str(visit.version)
        elif like is not None:
            form.fill(Plan(**{name: getattr(like, name) for name in COPIED}), st.policy)
        if visit is None:
            form.form_token.data = secrets.token_urlsafe(24)
        return show()
    if not form.validate():
        return show(400 if "csrf_token" in form.errors else 422)
    token = form.form_token.data if visit is None and FORM_TOKEN.fullmatch(form.form_token.data or "") else None
    if token and (first := _saved_with(token, me)) is not None:
        flash("This plan was already saved: here it is. Nothing was saved twice.")
        return redirect(url_for("home_visits.visit", visit_id=first))
    plan, now = form.to_plan(st.policy), st.clock()
    version = opened_version(form.version)
    was_authorised_by = visit.authorised_by if visit is not None and visit.state == workflow.AUTHORISED else None
    try:
        if visit is None:
            visit = services.create_visit(session, plan, actor=me, now=now, form_token=token)
            try:
                session.flush()
            except IntegrityError:  # the same form, posted twice at the same moment: the other one won
                session.rollback()
                first = _saved_with(token or "", me)
                if first is None:
                    raise
                flash("This plan was already saved: here it is. Nothing was saved twice.")
                return redirect(url_for("home_visits.visit", visit_id=first))
        else:
            services.update_visit(session, visit, plan, actor=me, policy=st.policy, now=now, version=version)
        session.flush()
        if form.submit.data and submittable:
            if problems := services.submit(session, visit, actor=me, policy=st.policy, now=now):
                session.rollback()
                for problem in problems:
                    form[FIELD_FOR_PLAN.get(problem.field, problem.field)].errors.append(problem.message)
                return show(422)
            notices.plan_submitted(session, visit, mail_context(), now)
        elif was_authorised_by and visit.state == workflow.SUBMITTED:
            notices.plan_sent_back(session, visit, mail_context(), now, was_authorised_by)
        session.commit()
    except services.BreaksRules as broken:
        session.rollback()
        for problem in broken.problems:
            form[FIELD_FOR_PLAN.get(problem.field, problem.field)].errors.append(problem.message)
        form.form_errors.append("Nothing was saved: a submitted or authorised plan must keep to the school's rules.")
        return show(422)
    except (services.StaleEdit, StaleDataError):
        session.rollback()
        form.form_errors.append(
            "Someone changed this plan since you opened it (or the form was incomplete). "
            "Open it again to see their changes, then make yours."
        )
        return show(409)
    except workflow.WorkflowError as error:
        session.rollback()
        form.form_errors.append(str(error))
        return show(error.status)
    send_notices()
    flash("Submitted for authorisation." if visit.state == workflow.SUBMITTED and form.submit.data else "Plan saved.")
    return redirect(url_for("home_visits.visit", visit_id=visit.id))


#: A "New plan" form's one-time token, as :func:`secrets.token_urlsafe` makes it.
FORM_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def _saved_with(token: str, me: Person) -> int | None:
    """The id of ``me``'s draft made from the form with ``token``, if that form was saved already."""
    return db_session().scalar(select(Visit.id).where(Visit.form_token == token, Visit.lead_id == me.id))


def decide(visit_id: int) -> Response | tuple[str, int]:
    me = current_person()
    visit = find_visit(visit_id, me)
    form = DecisionForm()
    action = form.action()
    if not form.validate() or action is None:
        abort(400, "The request was incomplete or expired: reload the page and try again.")
    st, session = plugin_state(), db_session()
    seen = opened_version(form.version)
    allowed = workflow.allowed(action, visit, me, st.policy.rules.authorisers)
    if action in ("authorise", "decline") and allowed and seen != visit.version:
        changed = workflow.field_words(services.changed_since(session, visit, seen))
        form.comment.errors = ["The plan changed since you opened it" + (f" ({changed} changed)" if changed else "")
                               + ": read it again below, then decide."]
        return show_visit(visit, me, form=form, status=409)
    try:
        services.decide(session, visit, action, actor=me, policy=st.policy, now=st.clock(),
                        comment=form.comment.data or "", seen_version=seen)
        if action in ("authorise", "decline"):
            notices.plan_decided(session, visit, mail_context(), st.clock())
        session.commit()
    except services.BreaksRules as broken:
        session.rollback()
        form.comment.errors = ["This plan breaks the school's rules now, so it cannot be authorised: "
                               + " ".join(problem.message for problem in broken.problems)]
        return show_visit(visit, me, form=form, status=422)
    except services.StaleEdit:
        session.rollback()
        form.comment.errors = ["The plan changed since you opened it: read it again below, then decide."]
        return show_visit(visit, me, form=form, status=409)
    except workflow.WorkflowError as error:
        session.rollback()
        form.comment.errors = [str(error)]
        return show_visit(visit, me, form=form, status=error.status)
    send_notices()
    flash({"authorise": "Plan authorised.", "decline": "Plan declined.", "cancel": "Visit cancelled."}[action])
    if request.form.get("next") == "approvals":
        return redirect(url_for("home_visits.approvals"))
    return redirect(url_for("home_visits.visit", visit_id=visit.id))
