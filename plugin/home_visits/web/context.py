"""Request helpers, named like Flask-SQLAlchemy-Lite's: the app's state, the request's session (closed in
``teardown_appcontext``), the signed-in person, a row or a 404, the page number and the handbook's address.
Views and commands use these; nothing here is a view, and nothing here knows a domain."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, g, request, url_for
from flask_login import current_user
from sqlalchemy.orm import Session

from ..models import Visit
from ..people import Person, role_names
from ..state import State, state
from . import login


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


def page_number() -> int:
    number = request.args.get("page", "1")
    if not (number.isdecimal() and len(number) <= 6) or not 1 <= int(number) <= 100_000:
        abort(400, "The page number must be a whole number from 1.")
    return int(number)


def handbook_url(school: str | None = None) -> str:
    """``HOME_VISITS_HANDBOOK_URL`` when the school hosts the handbook itself, else the plugin's own copy; in a
    trust, ``school``'s handbook (a folder named by its id) or, with no school, the person's or a choice."""
    configured = current_app.config["HOME_VISITS_HANDBOOK_URL"]
    folder = f"{school}/" if school and get_state().schools.trust else ""
    return configured.rstrip("/") + "/" + folder if configured else url_for("home_visits.handbook", path=folder)
