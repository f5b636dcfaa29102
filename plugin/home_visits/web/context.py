"""Request helpers, named like Flask-SQLAlchemy-Lite's: the app's state, the request's session (closed in
``teardown_appcontext``), the signed-in person, a visit or a 404, links, the mail context and the
templates' globals. Views and commands use these; nothing here is a view."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, g, request, url_for
from flask_login import current_user
from sqlalchemy.orm import Session

from ..mail import context as mail
from ..mail.notices import deliver
from ..models import Visit
from ..people import Person, role_names
from ..plans import workflow
from ..safety.service import INCIDENT_KINDS
from ..state import State, state
from . import login
from .links import visit_link

#: Which handbook page explains each section of the plan form.
HANDBOOK_PAGES = {
    "pupil": "filing-a-plan.html",
    "reason": "right-step.html",
    "when": "who-goes.html",
    "staff": "who-goes.html",
    "family": "families-and-agencies.html",
    "risk": "before.html#before-risk-assessment",
    "checklist": "before.html",
    "travel": "getting-there.html",
}


def get_state() -> State:
    return state(current_app)


def get_session() -> Session:
    """The plugin's session for this app context, made on first use."""
    if "home_visits_session" not in g:
        g.home_visits_session = get_state().sessions()
    return g.home_visits_session  # type: ignore[no-any-return]


def close_session(_exc: BaseException | None) -> None:
    session = g.pop("home_visits_session", None)
    if session is not None:
        session.close()


def current_person() -> Person:
    """The signed-in person; the host's login page for strangers (a 401 page when it cannot be built), a
    403 page that says who grants roles for users with none here."""
    if not current_user.is_authenticated:
        if (to_login := login.login_redirect(get_state().warned)) is not None:
            abort(to_login)
        abort(401)
    user = current_user._get_current_object()
    person = get_state().directory.person(user)
    if not person.has_any_role():
        login.log.info("Home visits: user %s has none of its roles (staff, approver, office); roles seen: %s",
                        person.id, ", ".join(role_names(getattr(user, "roles", None))) or "none")
        abort(403, login.NO_ROLE)
    return person


def schools_where(person: Person, rule: Any) -> list[str]:
    """The ids of the schools where ``rule(person at that school, that school's authorisers)`` holds:
    ``schools_where(me, workflow.sees_everything)`` are the schools whose every visit ``me`` sees."""
    schools = get_state().schools
    return [school.id for school in schools if rule(person.at(school.id), school.policy.rules.authorisers)]


def policy_of(visit: Visit) -> Any:
    """The policy of ``visit``'s school: its rules, grace, tiers, closing time and zone."""
    return get_state().policy_for(visit.school_id)


def get_or_abort(model: type[Any], ident: int) -> Any:
    """The row with primary key ``ident``, or 404."""
    row = get_session().get(model, ident)
    if row is None:
        abort(404)
    return row


def get_visit_or_abort(visit_id: int, me: Person) -> Visit:
    """The visit, if ``me`` may see it (they take part, or see all of its school's visits); 404 otherwise,
    so ids of other visits, and of other schools', reveal nothing."""
    visit: Visit = get_or_abort(Visit, visit_id)
    school = get_state().schools.get(visit.school_id)
    if school is None:  # a school no longer configured: ``flask home-visits schools`` names its visits
        abort(404)
    if not (visit.involves(me.id) or workflow.sees_everything(me.at(school.id), school.policy.rules.authorisers)):
        abort(404)
    return visit


def page_number() -> int:
    number = request.args.get("page", "1")
    if not (number.isdecimal() and len(number) <= 6) or not 1 <= int(number) <= 100_000:
        abort(400, "The page number must be a whole number from 1.")
    return int(number)


def mail_context() -> mail.Context:
    """Policy, directory, mail, links and email templates, from the app's config; works in a command too."""
    st = get_state()
    return mail.mail_context(current_app.config, policy=st.policy, directory=st.directory, link=visit_link,
                             templates=current_app.jinja_env.get_template, schools=st.schools)


def send_notices() -> None:
    """Try the plan emails just queued; any that cannot go now are retried by the escalation sweep."""
    deliver(get_session(), mail_context(), get_state().clock())


def _people_lookup() -> Any:
    """``person(id)`` for templates: each person looked up once per request."""
    if "home_visits_people" not in g:
        g.home_visits_people = {}
    cache, directory = g.home_visits_people, get_state().directory

    def person(person_id: str | None) -> Person | None:
        if not person_id:
            return None
        if person_id not in cache:
            cache[person_id] = directory.find(person_id)
        return cache[person_id]

    return person


def handbook_url(school: str | None = None) -> str:
    """``HOME_VISITS_HANDBOOK_URL`` when the school hosts the handbook itself, else the plugin's own copy; in a
    trust, ``school``'s handbook (a folder named by its id) or, with no school, the person's or a choice."""
    configured = current_app.config["HOME_VISITS_HANDBOOK_URL"]
    folder = f"{school}/" if school and get_state().schools.trust else ""
    return configured.rstrip("/") + "/" + folder if configured else url_for("home_visits.handbook", path=folder)


def nav_rights() -> dict[str, bool]:
    """What the signed-in person's menu offers, from their roles at every school (not only at the school
    of the visit a page shows): ``approves`` somewhere (approvals, reports), ``oversees`` somewhere (the
    dashboard). Worked out once a request."""
    if "home_visits_nav" not in g:
        rights = {"approves": False, "oversees": False}
        if current_user.is_authenticated:
            person = get_state().directory.person(current_user._get_current_object())
            rights = {"approves": bool(schools_where(person, workflow.authorises)),
                      "oversees": bool(schools_where(person, workflow.sees_everything))}
        g.home_visits_nav = rights
    return g.home_visits_nav  # type: ignore[no-any-return]


def template_globals() -> dict[str, Any]:
    st = get_state()

    def policy_of_visit(visit: Visit) -> Any:
        school = st.schools.get(visit.school_id)
        return school.policy if school is not None else st.policy

    def school_tag(visit: Visit) -> str:
        school = st.schools.get(visit.school_id)
        return school.short if school is not None else visit.school_id

    return {
        "home_visits_base": current_app.config["HOME_VISITS_BASE_TEMPLATE"],
        "handbook_url": handbook_url(),
        "handbook_pages": HANDBOOK_PAGES,
        "state_labels": workflow.LABELS,
        "action_words": workflow.ACTION_WORDS,
        "incident_kinds": INCIDENT_KINDS,
        "policy": st.policy,
        # Lists name each visit's school when the portal has more than one, and read it with its own policy.
        "many_schools": len(st.schools) > 1,
        "school_tag": school_tag,
        "policy_of": policy_of_visit,
        "nav_rights": nav_rights,
        "person": _people_lookup(),
        "local": lambda moment: moment.astimezone(st.policy.zone) if moment else None,
    }
