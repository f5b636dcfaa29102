"""The plan pages: my visits, the approvers' queue, the plan form (new, edit, "plan another like this")
and the decision on a plan."""

from __future__ import annotations

import re
import secrets
from datetime import time, timezone

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from ..clock import at_school
from ..db import unit_of_work
from ..errors import BreaksRules, NotSubmitted, Problem, StaleEdit, WorkflowError
from ..mail.app import mail_context, send_notices
from ..models import Visit
from ..people import Person
from ..web.context import current_person, get_session, get_state, handbook_url, page_number, schools_where
from ..web.errors import FormErrors
from ..web.fields import opened_version
from ..web.guards import MAX_ID, SafetyForm
from . import notices, workflow
from . import service as services
from .access import get_visit_or_abort
from .forms import FIELD_FOR_PLAN, CancelForm, DecisionForm, PlanForm, SubmitPlanForm
from .parts import part_of
from .rules import CHOICE_WORDS, COPIED, Plan, is_evening


def my_visits() -> str:
    me = current_person()
    overseen = schools_where(me, workflow.sees_everything)  # the schools whose every visit ``me`` sees
    everyone = request.args.get("scope") == "all" and bool(overseen)
    size = current_app.config["HOME_VISITS_PER_PAGE"]
    policy = get_state().policy
    today = at_school(get_state().clock().astimezone(policy.zone).date(), time(0), policy.zone).astimezone(timezone.utc)
    if everyone:
        query = services.visible_to(me, schools=overseen, every=True)
        visits, total, more = services.soonest_page(get_session(), query, today=today, number=page_number(),
                                                    size=size)
    else:
        visits, total, more = services.my_page(get_session(), me, schools=get_state().schools.ids, number=page_number(),
                                                size=size, today=today)
    return render_template(
        "home_visits/my_visits.html", visits=visits, total=total, more=more, page=page_number(), size=size,
        count_limit=services.COUNT_LIMIT, today=today, everyone=everyone, can_see_all=bool(overseen), me=me,
        form=SafetyForm(),
    )


def approvals() -> str:
    me = current_person()
    deciding = schools_where(me, workflow.authorises)
    if not deciding:
        abort(403)
    query = (select(Visit).where(Visit.state == workflow.SUBMITTED, Visit.school_id.in_(deciding))
             .order_by(Visit.starts_at, Visit.id))  # filtered even for every school: none of a school gone
    size = current_app.config["HOME_VISITS_PER_PAGE"]
    visits, total = services.page(get_session(), query, number=page_number(), size=size)
    st = get_state()
    since = services.waiting_since(get_session(), [v.id for v in visits])
    now = st.clock()
    return render_template(
        "home_visits/approvals.html", visits=visits, total=total, page=page_number(), size=size, me=me,
        form=DecisionForm(), waited={i: services.how_long(now - at) for i, at in since.items()},
        one_click={v.id for v in visits if shown_whole(v) and workflow.allowed(
            "authorise", v, me.at(v.school_id), st.policy_for(v.school_id).rules.authorisers)},
        schools=st.schools,
    )


def shown_whole(visit: Visit) -> bool:
    """A plan the queue's row shows whole, so it may be authorised from there in one tap: no risk
    factor, two staff, in the daytime. Anything else is decided on the visit page."""
    plan = services.plan_of(visit)
    return (not visit.risk_factors and bool(visit.second_staff_id)
            and not is_evening(plan, get_state().policy_for(visit.school_id)))


def new_plan() -> Response | tuple[str, int] | str:
    """A new plan on one page (the parts' pages are the way in: :mod:`.part_views`); ``?like=<id>`` copies
    the family, address, staff and contact (and school) of an earlier visit; ``?school=<id>`` says which
    school it is for, asked first when ``me`` plans at more than one."""
    me = current_person()
    school, like, asked = school_for_new(me)
    if asked is not None:
        return asked
    return _plan_form(me.at(school), None, like=like, school=school)


def school_for_new(me: Person, *, endpoint: str = "home_visits.new_plan"
                   ) -> tuple[str, Visit | None, tuple[str, int] | None]:
    """For a new plan: the school it is for, the earlier visit it copies (``?like=``), and the page that
    asks which school (links to ``endpoint``) when that is not settled yet (else None)."""
    planning = me.schools_with(["staff"], get_state().schools.ids)
    if not planning:
        abort(403)
    like = request.args.get("like", "")
    if like and not (like.isdecimal() and len(like) <= 10 and int(like) <= MAX_ID):
        abort(400, "The visit to copy must be given by its number.")
    earlier = get_visit_or_abort(int(like), me) if like else None
    school = earlier.school_id if earlier is not None else request.args.get("school", "")[:40]
    if len(planning) == 1 and not school:
        school = planning[0]
    if school not in planning:
        if school and request.method == "POST":
            abort(403)
        return school, earlier, (render_template(
            "home_visits/pick_school.html", me=me, schools=[get_state().schools.of(each) for each in planning],
            like=like, asked=school, endpoint=endpoint), 200 if not school else 404)
    return school, earlier, None


def edit_plan(visit_id: int) -> Response | tuple[str, int] | str:
    me = current_person()
    visit = get_visit_or_abort(visit_id, me)
    if me.id != visit.lead_id or visit.state not in workflow.EDITABLE:
        abort(403)
    return _plan_form(me.at(visit.school_id), visit, school=visit.school_id)


def _plan_form(me: Person, visit: Visit | None, *, school: str,
               like: Visit | None = None) -> Response | tuple[str, int] | str:
    st, session = get_state(), get_session()
    policy = st.policy_for(school)
    # Whoever has a role at the visit's school (here or trust-wide), with their roles there: a contact may be any
    # of them, a second member of staff only someone who makes visits (the form offers only those).
    staff = [person.at(school) for person in st.directory.staff() if person.at(school).has_any_role()]
    form = PlanForm(policy=policy, staff=staff, me=me,
                    today=st.clock().astimezone(policy.zone).date())
    submittable = visit is None or visit.state in workflow.SUBMITTABLE
    if not submittable:
        form.save.label.text = "Save changes"

    opened = visit  # a first submit that fails saves nothing: the page stays "Plan a home visit"

    def show(status: int = 200) -> tuple[str, int]:
        page = render_template(
            "home_visits/plan_form.html", form=form, visit=opened, submittable=submittable, me=me, like=like,
            school=st.schools.of(school) if len(st.schools) > 1 else None, policy=policy,
            handbook_url=handbook_url(school),  # the guidance of the visit's school's handbook
            required=[item.id for item in policy.guidance.before.items if item.required],
            # This address without the part it was opened at: what follows a save starts at its top.
            action=url_for(request.endpoint or "", **(request.view_args or {}), **request.args.to_dict()),
        )
        return page, status

    if request.method == "GET":
        if visit is not None:
            form.fill(services.plan_of(visit), policy)
            form.version.data = str(visit.version)
        elif like is not None:
            form.fill(Plan(**{name: getattr(like, name) for name in COPIED}), policy)
        if visit is None:
            form.form_token.data = secrets.token_urlsafe(24)
        elif request.args.get("check") and submittable:  # from "Check your answers": each problem at its field
            beside(form, services.problems(session, visit, policy, st.clock()))
        return show()
    if not form.validate():
        return show(400 if "csrf_token" in form.errors else 422)
    token = form.form_token.data if visit is None and FORM_TOKEN.fullmatch(form.form_token.data or "") else None
    reviewing = bool(form.submit.data and submittable)  # "Continue": saved, checked, then shown whole
    if token and (first := services.saved_with(session, token, me)) is not None:
        flash("This plan was already saved: here it is. Nothing was saved twice.")
        return redirect(url_for("home_visits.check_answers" if reviewing else "home_visits.visit", visit_id=first))
    plan, now = form.to_plan(policy), st.clock()
    version = opened_version(form.version)
    was_authorised_by = visit.authorised_by if visit is not None and visit.state == workflow.AUTHORISED else None
    try:
        with unit_of_work(session):
            visit = services.save_plan(session, visit, plan, actor=me, policy=policy, now=now, school=school,
                                       form_token=token, version=version)
            if reviewing and (problems := services.problems(session, visit, policy, now)):
                raise NotSubmitted(problems)
            if was_authorised_by and visit.state == workflow.SUBMITTED:
                notices.plan_sent_back(session, visit, mail_context(), now, was_authorised_by)
            st.visit_changed(session, visit, now)
    except IntegrityError:  # the other post of the same form won: show its plan
        if token is None:
            raise
        if (first := services.saved_with(session, token, me)) is None:  # not this person's form: say no more
            form.form_token.data = secrets.token_urlsafe(24)
            form.form_errors.append("This form could not be saved as it was. Your answers are below: save again.")
            return show(409)
        flash("This plan was already saved: here it is. Nothing was saved twice.")
        return redirect(url_for("home_visits.check_answers" if reviewing else "home_visits.visit", visit_id=first))
    except NotSubmitted as refused:
        beside(form, refused.problems)
        return show(422)
    except BreaksRules as broken:
        beside(form, broken.problems)
        form.form_errors.append("Nothing was saved: a submitted or authorised plan must keep to the school's rules.")
        return show(422)
    except (StaleEdit, StaleDataError):
        form.form_errors.append(
            "Someone changed this plan since you opened it (or the form was incomplete). "
            "Open it again to see their changes, then make yours."
        )
        return show(409)
    except WorkflowError as error:
        form.form_errors.append(str(error))
        return show(error.status)
    send_notices()
    if reviewing:
        flash("Your plan is saved as a draft. Check your answers, then submit it for authorisation.")
        return redirect(url_for("home_visits.check_answers", visit_id=visit.id))
    flash("Plan saved.")
    return redirect(url_for("home_visits.visit", visit_id=visit.id))


def beside(form: PlanForm, problems: list[Problem]) -> None:
    """Each rule's message beside the form field it is about."""
    for problem in problems:
        field = form[FIELD_FOR_PLAN.get(problem.field, problem.field)]
        field.errors = [*field.errors, problem.message]


def check_answers(visit_id: int) -> Response | tuple[str, int]:
    """"Check your answers": the lead's saved plan, whole, as the approver will read it, each part with a
    "Change" link into the form (GET); "Submit for authorisation" runs the rules again and submits (POST)."""
    me = current_person()
    visit = get_visit_or_abort(visit_id, me)
    me = me.at(visit.school_id)
    if me.id != visit.lead_id:
        abort(403)
    if visit.state not in workflow.SUBMITTABLE:  # submitted already (a second tab, the back button)
        flash(f"This plan is {workflow.LABELS[visit.state].lower()}: there is nothing to submit.")
        return redirect(url_for("home_visits.visit", visit_id=visit.id), code=303)
    st, session = get_state(), get_session()
    policy = st.policy_for(visit.school_id)
    form = SubmitPlanForm()

    def show(problems: list[Problem], status: int = 200) -> tuple[str, int]:
        form.version.data = str(visit.version)  # what this page shows is what a submit is about
        fixes = [(f"{p.message} ({part_of(p.field).title})", url_for(
            "home_visits.part_page", visit_id=visit.id, part_id=part_of(p.field).id, check=1, back="check")
            + f"#{FIELD_FOR_PLAN.get(p.field, p.field)}") for p in problems]
        return render_template("home_visits/check_answers.html", visit=visit, me=me, form=form, fixes=fixes,
                               words=CHOICE_WORDS, policy=policy,
                               school=st.schools.of(visit.school_id) if len(st.schools) > 1 else None), status

    if request.method == "GET":
        return show(services.problems(session, visit, policy, st.clock()))
    if not form.validate():
        form.form_errors.append("The form expired. Read the plan again, then submit it.")
        return show([], 400)
    if opened_version(form.version) != visit.version:
        form.form_errors.append("The plan changed since you opened this page (in another window?). "
                                "Read it again below, then submit it.")
        return show([], 409)
    now = st.clock()
    try:
        with unit_of_work(session):
            if problems := services.submit(session, visit, actor=me, policy=policy, now=now):
                raise NotSubmitted(problems)
            notices.plan_submitted(session, visit, mail_context(), now)
    except NotSubmitted as refused:
        return show(refused.problems, 422)
    except StaleDataError:  # the same plan submitted from another window at the same moment
        form.form_errors.append("The plan changed at the same moment in another window. Read it again below.")
        return show([], 409)
    except WorkflowError as error:
        form.form_errors.append(str(error))
        return show([], error.status)
    send_notices()
    flash("Submitted for authorisation.")
    return redirect(url_for("home_visits.visit", visit_id=visit.id))


#: A "New plan" form's one-time token, as :func:`secrets.token_urlsafe` makes it.
FORM_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def decide(visit_id: int) -> Response | tuple[str, int]:
    me = current_person()
    visit = get_visit_or_abort(visit_id, me)
    me = me.at(visit.school_id)
    form = DecisionForm()
    action = form.action()
    if not form.validate() or action is None:
        abort(400, "The request was incomplete or expired: reload the page and try again.")
    st, session = get_state(), get_session()
    policy = st.policy_for(visit.school_id)
    seen = opened_version(form.version)
    allowed = workflow.allowed(action, visit, me, policy.rules.authorisers)
    if action in workflow.DECISIONS and allowed and seen != visit.version:
        changed = workflow.field_words(services.changed_since(session, visit, seen))
        form.comment.errors = ["The plan changed since you opened it" + (f" ({changed} changed)" if changed else "")
                               + ": read it again below, then decide."]
        raise FormErrors(visit, form=form, status=409)
    try:
        with unit_of_work(session):
            services.decide(session, visit, action, actor=me, policy=policy, now=st.clock(),
                            comment=form.comment.data or "", seen_version=seen)
            if action in workflow.DECISIONS:
                notices.plan_decided(session, visit, mail_context(), st.clock())
            st.visit_changed(session, visit, st.clock())
    except BreaksRules as broken:
        form.comment.errors = ["This plan breaks the school's rules now, so it cannot be authorised: "
                               + " ".join(problem.message for problem in broken.problems)]
        raise FormErrors(visit, form=form, status=422) from None
    except StaleEdit:
        form.comment.errors = ["The plan changed since you opened it: read it again below, then decide."]
        raise FormErrors(visit, form=form, status=409) from None
    except WorkflowError as error:
        form.comment.errors = [str(error)]
        raise FormErrors(visit, form=form, status=error.status) from None
    send_notices()
    flash({"authorise": "Plan authorised.", "decline": "Plan declined.", "cancel": "Visit cancelled.",
           "request_changes": "Plan sent back for changes: the lead has been told what to change."}[action])
    if request.form.get("next") == "approvals":
        return redirect(url_for("home_visits.approvals"))
    return redirect(url_for("home_visits.visit", visit_id=visit.id))


def cancel_visit(visit_id: int) -> Response | tuple[str, int]:
    """"Cancel this visit": a page that asks once more (GET), then cancels (POST). No JavaScript needed."""
    me = current_person()
    visit = get_visit_or_abort(visit_id, me)
    me = me.at(visit.school_id)
    st, session = get_state(), get_session()
    policy = st.policy_for(visit.school_id)
    if not workflow.leads_or_decides(visit, me, policy.rules.authorisers):
        abort(403)
    form = CancelForm()

    cancellable = visit.state in workflow.TRANSITIONS["cancel"][0]

    def show(status: int = 200) -> tuple[str, int]:
        return render_template("home_visits/cancel.html", visit=visit, form=form, me=me,
                               cancellable=cancellable), status

    if not cancellable and request.method == "GET":  # an old link: the visit moved on
        flash(f"This visit is {workflow.LABELS[visit.state].lower()}, so it cannot be cancelled.")
        return redirect(url_for("home_visits.visit", visit_id=visit.id), code=303)
    if not cancellable:
        form.form_errors.append(f"This visit is {workflow.LABELS[visit.state].lower()}, so it cannot be cancelled.")
        return show(409)
    if request.method == "GET":
        return show()
    if not form.validate():
        return show(400 if "csrf_token" in form.errors else 422)
    try:
        with unit_of_work(session):
            services.decide(session, visit, "cancel", actor=me, policy=policy, now=st.clock(),
                            comment=form.reason.data or "")
            st.visit_changed(session, visit, st.clock())
    except WorkflowError as error:
        form.form_errors.append(str(error))
        return show(error.status)
    send_notices()
    flash("Visit cancelled. It stays in the history; plan it again with “Plan another visit like this”.")
    return redirect(url_for("home_visits.visit", visit_id=visit.id))
