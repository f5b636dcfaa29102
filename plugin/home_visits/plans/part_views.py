"""A plan in short pages (the GOV.UK task list and question pages): "Plan a home visit" lists the plan's
parts with their status; each part is a page of its own questions, and Continue saves that part into the
draft, checks it, and goes on to the next part not yet done (or back to "Check your answers")."""

from __future__ import annotations

import secrets
from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from ..db import unit_of_work
from ..errors import BreaksRules, NotSubmitted, Problem, StaleEdit, WorkflowError
from ..mail.app import mail_context, send_notices
from ..models import Visit
from ..people import Person
from ..web.context import current_person, get_session, get_state, handbook_url
from ..web.fields import opened_version
from . import notices, workflow
from . import service as services
from .access import get_visit_or_abort
from .forms import FIELD_FOR_PLAN, PlanForm
from .parts import (
    BY_ID,
    COMPLETED,
    PARTS,
    Part,
    cleared,
    filled,
    first_undone,
    next_part,
    problems_in,
    questions,
    statuses,
)
from .rules import COPIED, Plan
from .views import FORM_TOKEN, school_for_new

Page = Response | tuple[str, int] | str
ALREADY = "This plan was already saved: here it is. Nothing was saved twice."


def new_tasks() -> Page:
    """"Plan a home visit" before anything is saved: the parts, of which only the first can start."""
    me = current_person()
    school, like, asked = school_for_new(me, endpoint="home_visits.new_tasks")
    if asked is not None:
        return asked
    st = get_state()
    return render_template("home_visits/plan_tasks.html", visit=None, me=me, status=statuses(None, []),
                           like=like, school=st.schools.of(school) if len(st.schools) > 1 else None,
                           first=url_for("home_visits.new_part", part_id=PARTS[0].id, school=school,
                                         like=like.id if like else None),
                           ready=False, submittable=True)


def tasks(visit_id: int) -> Page:
    """"Plan a home visit" for a saved plan: each part's status and link; "Check your answers" last,
    open once every part is complete. ``?resume=1`` (a draft in "My visits") opens the first part not done."""
    me = current_person()
    visit = _own_editable(visit_id, me)
    st, session = get_state(), get_session()
    policy = st.policy_for(visit.school_id)
    status = statuses(services.plan_of(visit), services.problems(session, visit, policy, st.clock()))
    submittable = visit.state in workflow.SUBMITTABLE
    if request.args.get("resume") and (undone := first_undone(status)) is not None:
        return redirect(url_for("home_visits.part_page", visit_id=visit.id, part_id=undone.id))  # where it stopped
    return render_template("home_visits/plan_tasks.html", visit=visit, me=me.at(visit.school_id), status=status,
                           like=None, school=st.schools.of(visit.school_id) if len(st.schools) > 1 else None,
                           ready=all(s == COMPLETED for s in status.values()), submittable=submittable, first=None)


def new_part(part_id: str) -> Page:
    """The first part of a new plan: saving it makes the draft (``?like=`` copies an earlier visit's
    family, address, staff and contact into it, and the draft opens at "Check your answers")."""
    part = _part(part_id)
    me = current_person()
    school, like, asked = school_for_new(me, endpoint="home_visits.new_tasks")
    if asked is not None:
        return asked
    if part is not PARTS[0]:  # nothing to add it to yet
        return redirect(url_for("home_visits.new_tasks", school=school), code=303)
    return _part_page(part, me.at(school), None, school=school, like=like)


def part_page(visit_id: int, part_id: str) -> Page:
    part = _part(part_id)
    me = current_person()
    visit = _own_editable(visit_id, me)
    return _part_page(part, me.at(visit.school_id), visit, school=visit.school_id)


def _part(part_id: str) -> Part:
    if part_id not in BY_ID:
        abort(404)
    return BY_ID[part_id]


def _own_editable(visit_id: int, me: Person) -> Visit:
    visit = get_visit_or_abort(visit_id, me)
    if me.id != visit.lead_id or visit.state not in workflow.EDITABLE:
        abort(403)
    return visit


def _part_page(part: Part, me: Person, visit: Visit | None, *, school: str, like: Visit | None = None) -> Page:
    st, session = get_state(), get_session()
    policy = st.policy_for(school)
    # As on the one-page form: a contact may be anyone with a role at the school, a second member of staff
    # only someone who makes visits.
    staff = [person.at(school) for person in st.directory.staff() if person.at(school).has_any_role()]
    today: date = st.clock().astimezone(policy.zone).date()
    form = PlanForm(policy=policy, staff=staff, me=me, today=today)
    if visit is not None:
        stored = services.plan_of(visit)
    else:
        stored = Plan(**{name: getattr(like, name) for name in COPIED}) if like is not None else Plan()
    from_check = request.args.get("back") == "check" and visit is not None
    needs: bool | None = None
    if request.method == "GET":
        form.fill(stored, policy)
        form.language.data = "yes" if stored.language_needs else ("no" if filled(BY_ID["family"], stored) else None)
        plan = stored
    else:
        needs = {"yes": True, "no": False}.get(form.language.data or "")
        plan = form.part_plan(part, stored, policy)
    form.only(questions(part, plan, policy, needs_language=needs))

    def show(status: int = 200) -> tuple[str, int]:
        if visit is not None:
            form.version.data = str(visit.version)
            back = url_for("home_visits.check_answers" if from_check else "home_visits.tasks", visit_id=visit.id)
        else:
            form.form_token.data = form.form_token.data or secrets.token_urlsafe(24)
            back = url_for("home_visits.new_tasks", school=school, like=like.id if like else None)
        return render_template(
            "home_visits/plan_part.html", part=part, form=form, visit=visit, me=me, like=like, back=back,
            handbook_url=handbook_url(school), policy=policy,
            required=[item.id for item in policy.guidance.before.items if item.required],
            school=st.schools.of(school) if len(st.schools) > 1 else None,
            action=url_for(request.endpoint or "", **(request.view_args or {}), **request.args.to_dict()),
        ), status

    if request.method == "GET":
        if visit is not None and request.args.get("check"):  # from a problem on "Check your answers"
            _beside(form, problems_in(part, services.problems(session, visit, policy, st.clock())))
        return show()
    if not form.validate():
        return show(400 if "csrf_token" in form.errors else 422)
    plan = cleared(form.part_plan(part, stored, policy), policy, part, needs_language=needs)
    if needs and not plan.language_needs:
        form.language_needs.errors = ["Say what help with language is needed, or answer No."]
        return show(422)
    token = form.form_token.data if visit is None and FORM_TOKEN.fullmatch(form.form_token.data or "") else None
    if token and (first := services.saved_with(session, token, me)) is not None:
        flash(ALREADY)
        return redirect(url_for("home_visits.tasks", visit_id=first), code=303)
    now = st.clock()
    opened = visit  # None for a new plan: a refused first part saves nothing and the page stays new
    was_authorised_by = visit.authorised_by if visit is not None and visit.state == workflow.AUTHORISED else None
    try:
        with unit_of_work(session):
            visit = services.save_plan(session, visit, plan, actor=me, policy=policy, now=now, school=school,
                                       form_token=token, version=opened_version(form.version))
            if found := problems_in(part, services.problems(session, visit, policy, now)):
                raise NotSubmitted(found)
            if was_authorised_by and visit.state == workflow.SUBMITTED:
                notices.plan_sent_back(session, visit, mail_context(), now, was_authorised_by)
    except IntegrityError:  # the other post of the same form won: show its plan
        if token is None:
            raise
        visit = opened
        if (first := services.saved_with(session, token, me)) is None:  # not this person's form: say no more
            form.form_token.data = secrets.token_urlsafe(24)
            form.form_errors.append("This form could not be saved as it was. Your answers are below: save again.")
            return show(409)
        flash(ALREADY)
        return redirect(url_for("home_visits.tasks", visit_id=first), code=303)
    except NotSubmitted as refused:
        visit = opened
        _beside(form, refused.problems)
        return show(422)
    except BreaksRules as broken:
        visit = opened
        _beside(form, broken.problems)
        form.form_errors.insert(0, "Nothing was saved: a submitted or authorised plan must keep to the school's "
                                   "rules.")
        return show(422)
    except (StaleEdit, StaleDataError):
        form.form_errors.append("Someone changed this plan since you opened it (in another window?). "
                                "Open it again to see their changes, then make yours.")
        return show(409)
    except WorkflowError as error:
        form.form_errors.append(str(error))
        return show(error.status)
    send_notices()
    return redirect(_after(part, visit, from_check=from_check or like is not None), code=303)


def _after(part: Part, visit: Visit, *, from_check: bool) -> str:
    """Where Continue goes: back to "Check your answers" when it came from there (or the plan is a copy,
    filled already); else the next part not done yet; else the task list."""
    st = get_state()
    policy = st.policy_for(visit.school_id)
    submittable = visit.state in workflow.SUBMITTABLE
    if from_check and submittable:
        return url_for("home_visits.check_answers", visit_id=visit.id)
    status = statuses(services.plan_of(visit), services.problems(get_session(), visit, policy, st.clock()))
    following = next_part(part, status)
    if following is None or PARTS.index(following) <= PARTS.index(part):  # the list says what is left
        return url_for("home_visits.tasks", visit_id=visit.id)
    return url_for("home_visits.part_page", visit_id=visit.id, part_id=following.id)


def _beside(form: PlanForm, problems: list[Problem]) -> None:
    """Each problem beside its question on this part; one about another part goes in the summary, naming
    the part to change."""
    for problem in problems:
        name = FIELD_FOR_PLAN.get(problem.field, problem.field)
        if name in form:
            form[name].errors = [*form[name].errors, problem.message]
        else:
            title = next((p.title for p in PARTS if problem.field in p.plan_fields), "the plan")
            form.form_errors.append(f"{problem.message} (Change it in “{title}”.)")
