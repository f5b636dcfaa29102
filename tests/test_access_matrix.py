"""Route x role matrix: every route of the plugin's blueprint, taken from the URL map, answers each kind
of person as the table below says. A route without an entry fails with "add an entry for endpoint X".

Each cell gets a fresh visit (led by sam, with jo second and kim the responsible contact) in the state the
entry names, so one cell's POST never changes what the next cell sees. POSTs go without CSRF here
(``tests/test_csrf.py`` proves every POST needs it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, url_for
from sqlalchemy import select

from home_visits.calendar import service as feeds
from home_visits.extension import state
from home_visits.models import RecordAction, Visit, VisitRecord
from home_visits.plans import service as services
from home_visits.records import Action, RecordData
from home_visits.records import service as recording

from .conftest import NOW, USERS, User, free_port, make_app

#: Who plays each part. ``lee`` is a member of staff added for this module: on no visit, no other role.
WHO: dict[str, str | None] = {
    "anonymous": None,
    "lead": "sam",  # staff who leads the visit
    "other_staff": "lee",  # staff, not on the visit
    "second": "jo",  # staff going as the second member of staff
    "contact": "kim",  # staff who is the visit's responsible contact
    "approver": "blair",  # approver (not staff), not on the visit
    "office": "pat",  # the school office
    "no_role": "guest",  # signed in to the host portal but no role in the plugin
}
ROLES = tuple(WHO)
OTHER_STAFF = User("lee", "Lee Grant", "lee@school.example", "07700 900006", ("staff",))


@dataclass(frozen=True)
class Expect:
    """What each role gets from one method of one route, about a fresh visit in state ``visit``."""

    visit: str | None
    statuses: dict[str, int]
    #: The form posted (a callable gets the visit). Enough for the request to succeed for whoever may do it.
    data: dict[str, Any] | Callable[[Visit | None], dict[str, Any]] = field(default_factory=dict)


def on(visit: str | None, *statuses: int, data: Any = None) -> Expect:
    assert len(statuses) == len(ROLES), f"give one status per role: {', '.join(ROLES)}"
    return Expect(visit, dict(zip(ROLES, statuses, strict=True)), data or {})


DRAFT_FORM = {"pupil": "Jamie Smith", "address": "12 Larch Close", "save": "Save draft"}
PUPIL_PART = {"pupil": "Jamie Smith", "address": "12 Larch Close", "postcode": "EX1 2AB", "submit": "Continue"}

# fmt: off
#: endpoint -> method -> on(state of the visit, then the status for each role in ROLES order).
#: 401: not signed in (the host has no login view; the demo portal redirects instead). 403: signed in but
#: not allowed. 404: a visit this person may not see (its id reveals nothing). 302: done, redirected.
EXPECTED: dict[str, dict[str, Expect]] = {
    #                                 visit state    anon lead other second contact approver office no_role
    "home_visits.my_visits":    {"GET":  on(None,          401, 200, 200,  200,   200,    200,     200,   403)},
    "home_visits.new_plan":     {"GET":  on(None,          401, 200, 200,  200,   200,    403,     403,   403),
                                 "POST": on(None,          401, 302, 302,  302,   302,    403,     403,   403,
                                            data=DRAFT_FORM)},
    # The plan in parts: the task list and a part's page; the first part of a new plan makes the draft.
    "home_visits.new_tasks":    {"GET":  on(None,          401, 200, 200,  200,   200,    403,     403,   403)},
    "home_visits.new_part":     {"GET":  on(None,          401, 200, 200,  200,   200,    403,     403,   403),
                                 "POST": on(None,          401, 303, 303,  303,   303,    403,     403,   403,
                                            data=PUPIL_PART)},
    "home_visits.tasks":        {"GET":  on("draft",       401, 200, 404,  403,   403,    403,     403,   403)},
    "home_visits.part_page":    {"GET":  on("draft",       401, 200, 404,  403,   403,    403,     403,   403),
                                 "POST": on("draft",       401, 303, 404,  403,   403,    403,     403,   403,
                                            data=lambda v: {**PUPIL_PART, "version": str(v.version)})},
    "home_visits.visit":        {"GET":  on("authorised",  401, 200, 404,  200,   200,    200,     200,   403)},
    "home_visits.edit_plan":    {"GET":  on("draft",       401, 200, 404,  403,   403,    403,     403,   403),
                                 "POST": on("draft",       401, 302, 404,  403,   403,    403,     403,   403,
                                            data=lambda v: {**DRAFT_FORM, "version": str(v.version)})},
    # "Check your answers": only the lead reads the draft whole there and submits it.
    "home_visits.check_answers": {"GET": on("draft",       401, 200, 404,  403,   403,    403,     403,   403),
                                 "POST": on("draft",       401, 302, 404,  403,   403,    403,     403,   403,
                                            data=lambda v: {"submit": "Submit for authorisation",
                                                            "version": str(v.version)})},
    # Only approvers decide, and never a plan for a visit they go on.
    "home_visits.decide":       {"GET":  on("submitted", 401, 303, 303, 303, 303, 303, 303, 403),
        "POST": on("submitted",   401, 403, 404,  403,   403,    302,     403,   403,
                                            data=lambda v: {"authorise": "Authorise", "version": str(v.version)})},
    # Cancelling asks once more on its own page: the lead, or an approver.
    "home_visits.cancel_visit": {"GET":  on("submitted",   401, 200, 404,  403,   403,    200,     403,   403),
                                 "POST": on("submitted",   401, 302, 404,  403,   403,    302,     403,   403,
                                            data={"confirm": "Yes, cancel this visit"})},
    "home_visits.approvals":    {"GET":  on(None,          401, 403, 403,  403,   403,    200,     403,   403)},
    "home_visits.subscribe":    {"GET":  on(None,          401, 200, 200,  200,   200,    200,     200,   403),
                                 "POST": on(None,          401, 200, 200,  200,   200,    200,     200,   403,
                                            data={"create": "Create my calendar link"})},
    # The token in the URL is the credential (Outlook cannot log in): the lead's live link works for any
    # client, signed in or not. Unknown and revoked tokens get 404 (tests/test_tokens.py).
    "home_visits.feed":         {"GET":  on(None,          200, 200, 200,  200,   200,    200,     200,   200)},
    # Only the visiting staff check out.
    "home_visits.check_out":    {"GET":  on("due", 401, 303, 303, 303, 303, 303, 303, 403),
        "POST": on("due",         401, 302, 404,  302,   403,    403,     403,   403)},
    # Back safe: the visiting staff, or the office and senior leaders closing it off for them.
    "home_visits.check_in":     {"GET":  on("checked_out", 401, 303, 303, 303, 303, 303, 303, 403),
        "POST": on("checked_out", 401, 302, 404,  302,   403,    302,     302,   403)},
    "home_visits.extend":       {"GET":  on("checked_out", 401, 303, 303, 303, 303, 303, 303, 403),
        "POST": on("checked_out", 401, 302, 404,  302,   403,    302,     302,   403,
                                            data={"until": "10:00", "reason": "Family arrived late"})},
    # "I'm handling this": the responsible contact, the office and senior leaders.
    "home_visits.acknowledge":  {"GET":  on("overdue", 401, 303, 303, 303, 303, 303, 303, 403),
        "POST": on("overdue",     401, 403, 404,  403,   302,    302,     302,   403)},
    # "Alert the office now": anyone who can see the visit while it is out.
    "home_visits.alert_now":    {"GET":  on("checked_out", 401, 303, 303, 303, 303, 303, 303, 403),
        "POST": on("checked_out", 401, 302, 404,  302,   302,    302,     302,   403)},
    # "Report an incident": the same people, while out and for the rest of that day.
    "home_visits.report_incident": {"GET":  on("checked_out", 401, 303, 303, 303, 303, 303, 303, 403),
        "POST": on("checked_out", 401, 302, 404, 302,   302,    302,     302,   403,
                                            data={"kind": "aggression"})},
    # "Not going ahead": the visiting staff, or the office and senior leaders told by phone.
    "home_visits.not_going_ahead": {"GET":  on("authorised", 401, 303, 303, 303, 303, 303, 303, 403),
        "POST": on("authorised", 401, 302, 404,  302,   403,    302,     302,   403,
                                            data={"reason": "The family cancelled this morning"})},
    "home_visits.dashboard":    {"GET":  on(None,          401, 403, 403,  403,   403,    200,     200,   403)},
    # "Send a test alert": whoever keeps the dashboard.
    "home_visits.test_alert":   {"POST": on(None,          401, 403, 403,  403,   403,    302,     302,   403)},
    # The visit record: the lead writes it once back (others may read it but not write: 409); the visiting
    # staff and the approvers read it; the contact and the office do not.
    "home_visits.record":       {"GET":  on("returned",    401, 200, 404,  200,   403,    200,     403,   403),
                                 "POST": on("returned",    401, 302, 404,  409,   403,    409,     403,   403,
                                            data={"outcome": "took_place", "save": "Save draft"})},
    # Corrections: the lead or a senior leader. Confirmation: the second member of staff.
    "home_visits.correct_record": {"GET":  on("recorded", 401, 303, 303, 303, 303, 303, 303, 403),
        "POST": on("recorded",  401, 302, 404,  403,   403,    302,     403,   403,
                                            data={"field": "points", "text": "Also agreed a reading plan.",
                                                  "reason": "Left out by mistake"})},
    "home_visits.confirm_record": {"GET":  on("recorded", 401, 303, 303, 303, 303, 303, 303, 403),
        "POST": on("recorded",  401, 403, 404,  302,   403,    403,     403,   403,
                                            data={"comment": "Agreed.", "confirm": "Confirm the record"})},
    "home_visits.cpoms_copy":   {"GET":  on("recorded",    401, 200, 404,  200,   403,    200,     403,   403)},
    # An action from a submitted record (URL_VALUES["action_id"]): the lead or a senior leader marks it done.
    "home_visits.action_done":  {"GET":  on("recorded", 401, 303, 303, 303, 303, 303, 303, 403),
        "POST": on("recorded",    401, 302, 404,  403,   403,    302,     403,   403)},
    "home_visits.reports":      {"GET":  on(None,          401, 403, 403,  403,   403,    200,     403,   403)},
    "home_visits.reports_csv":  {"GET":  on(None,          401, 403, 403,  403,   403,    200,     403,   403)},
    # The printable card: the visiting staff, the office and senior leaders (the contact gets a 403 page).
    "home_visits.visit_card":   {"GET":  on("authorised",  401, 200, 404,  200,   403,    200,     200,   403)},
    # Everyone's own email choices.
    "home_visits.settings":     {"GET":  on(None,          401, 200, 200,  200,   200,    200,     200,   403),
                                 "POST": on(None,          401, 302, 302,  302,   302,    302,     302,   403,
                                            data={"plan_emails": "y", "save": "Save"})},
    # The handbook the plugin serves (a one-page stand-in site, built in the app fixture): anyone with a role.
    "home_visits.handbook":     {"GET":  on(None,          401, 200, 200,  200,   200,    200,     200,   403)},
    # The plugin's JavaScript and CSS: public, like any static file.
    "home_visits.static":       {"GET":  on(None,          200, 200, 200,  200,   200,    200,     200,   200)},
}
# fmt: on
#: A POST URL that can answer with errors answers GET with a redirect to where its form lives (a reload
#: after an error never meets a 405); what is behind the redirect is checked by the page's own entry.


@dataclass
class Cell:
    """What a URL value is filled from: the app and the cell's visit."""

    app: Flask
    visit: Visit | None


def _lead_token(cell: Cell) -> str:
    st = state(cell.app)
    with st.sessions() as session:
        lead = st.directory.person(USERS["sam"])
        token = feeds.issue(session, lead, scope=feeds.scope_for(lead, st.policy.rules.authorisers), now=st.clock())
        session.commit()
    return token


def _visit_id(cell: Cell) -> int:
    assert cell.visit is not None, "a route with <visit_id> needs a visit state in its EXPECTED entry"
    return cell.visit.id


def _action_id(cell: Cell) -> int:
    with state(cell.app).sessions() as session:
        found = session.scalar(
            select(RecordAction.id).join(VisitRecord).where(VisitRecord.visit_id == _visit_id(cell))
        )
    assert found is not None, "a route with <action_id> needs a 'recorded' visit (its record has an action)"
    return found


#: How to fill each URL variable the plugin's routes take. A new variable needs a line here.
URL_VALUES: dict[str, Callable[[Cell], Any]] = {
    "visit_id": _visit_id,
    "action_id": _action_id,
    "token": _lead_token,
    "filename": lambda _cell: "copy.js",
    "path": lambda _cell: "index.html",
    "part_id": lambda _cell: "pupil",
}


def plugin_routes() -> list[tuple[str, str]]:
    """(endpoint, method) for every rule of the plugin's blueprint, from a URL map."""
    from home_visits.pages.blueprint import blueprint

    bare = Flask("routes_only")
    bare.register_blueprint(blueprint, url_prefix="/home-visits")
    return routes_of(bare)


def routes_of(app: Flask) -> list[tuple[str, str]]:
    found = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("home_visits.")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    return sorted(found)


@pytest.fixture(autouse=True)
def other_staff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(USERS, OTHER_STAFF.id, OTHER_STAFF)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """The test host, with mail going to a loopback port where nothing listens ("Alert the office now"
    then fails at once and is kept for a retry)."""
    app = make_app(tmp_path / "instance", HOME_VISITS_SMTP_HOST="127.0.0.1", HOME_VISITS_SMTP_PORT=free_port(),
                   HOME_VISITS_SMTP_TIMEOUT=2)
    site = tmp_path / "instance" / "home_visits_handbook"
    site.mkdir(parents=True)
    (site / "index.html").write_text("<h1>Home visits handbook</h1>")
    yield app
    state(app).engine.dispose()


def make_visit(app: Flask, create_visit: Callable[..., Visit], wanted: str) -> Visit:
    """A fresh visit led by sam (jo second, kim the contact), taken through the real workflow to ``wanted``.
    The clock starts two days before the visit; ``due`` is an authorised visit on the morning it starts
    (check-out is open), ``overdue`` one checked out and 20 minutes past its return's grace."""
    st = state(app)
    st.clock.now = NOW  # type: ignore[attr-defined]
    plan = {"second_staff_id": "jo", "contact_id": "kim", "contact_phone": "07700 900003"}
    if wanted in ("draft", "submitted", "authorised", "declined", "cancelled"):
        return create_visit(state_=wanted, **plan)
    moves = {"due": [], "checked_out": ["check_out"], "overdue": ["check_out"], "returned": ["check_out", "check_in"],
             "recorded": ["check_out", "check_in"]}
    if wanted not in moves:
        pytest.fail(f"teach make_visit() in tests/test_access_matrix.py to make a {wanted!r} visit")
    visit = create_visit(state_="authorised", **plan)
    lead = st.directory.person(USERS["sam"])
    assert visit.starts_at is not None and visit.expected_return is not None
    st.clock.now = visit.starts_at - timedelta(minutes=30)  # type: ignore[attr-defined]
    with st.sessions() as session:
        stored = session.get(Visit, visit.id)
        assert stored is not None
        for action in moves[wanted]:
            services.decide(session, stored, action, actor=lead, policy=st.policy, now=st.clock())
        if wanted == "recorded":  # the lead submits a record (no answer at the door) with one action
            assert stored.starts_at is not None
            data = RecordData(outcome="no_answer", actions=[Action("Phone the family", "Sam Patel",
                                                                   stored.starts_at.date() + timedelta(days=2))])
            record = recording.save(session, stored, data, actor=lead, now=st.clock(), version=None)
            session.flush()
            problems = recording.submit(session, stored, record, actor=lead, policy=st.policy, now=st.clock())
            assert not problems, problems
        session.commit()
    if wanted == "overdue":
        st.clock.now = visit.expected_return + timedelta(minutes=st.policy.rules.grace_minutes + 20)  # type: ignore[attr-defined]
    return stored


def ask(app: Flask, method: str, endpoint: str, expect: Expect, role: str, create_visit: Any) -> tuple[int, str]:
    """One cell: a fresh visit, a fresh client signed in as the role's user, one request."""
    visit = make_visit(app, create_visit, expect.visit) if expect.visit else None
    cell = Cell(app, visit)
    rule = next(rule for rule in app.url_map.iter_rules() if rule.endpoint == endpoint)
    missing = [name for name in rule.arguments if name not in URL_VALUES]
    if missing:
        pytest.fail(f"teach URL_VALUES in tests/test_access_matrix.py how to fill <{missing[0]}> of {rule.rule}")
    values = {name: URL_VALUES[name](cell) for name in rule.arguments}
    with app.test_request_context():
        url = url_for(endpoint, **values)
    client = app.test_client()
    if WHO[role] is not None:
        with client.session_transaction() as session:
            session["_user_id"] = WHO[role]
            session["_fresh"] = True
    data = expect.data(visit) if callable(expect.data) else expect.data
    response = client.open(url, method=method, data=data if method == "POST" else None)
    return response.status_code, url


def test_every_route_has_an_entry_and_every_entry_a_route(app: Flask) -> None:
    routes = routes_of(app)
    assert routes == plugin_routes(), "the app's URL map and the blueprint disagree"
    missing = [f"add an entry for endpoint {endpoint} ({method}) to EXPECTED in tests/test_access_matrix.py"
               for endpoint, method in routes if method not in EXPECTED.get(endpoint, {})]
    stale = [f"remove the entry for {endpoint} ({method}): no such route any more"
             for endpoint, methods in EXPECTED.items() for method in methods if (endpoint, method) not in routes]
    assert not missing and not stale, "\n".join(missing + stale)


@pytest.mark.parametrize(("endpoint", "method"), plugin_routes(), ids=lambda value: value.removeprefix("home_visits."))
def test_each_role_gets_what_the_table_says(app: Flask, create_visit: Any, endpoint: str, method: str) -> None:
    expect = EXPECTED.get(endpoint, {}).get(method)
    if expect is None:
        pytest.fail(f"add an entry for endpoint {endpoint} ({method}) to EXPECTED in tests/test_access_matrix.py")
    wrong = []
    for role in ROLES:
        status, url = ask(app, method, endpoint, expect, role, create_visit)
        if status != expect.statuses[role]:
            wrong.append(f"  {role} ({WHO[role] or 'nobody'}): expected {expect.statuses[role]}, got {status}")
    assert not wrong, f"{method} {url} ({endpoint}):\n" + "\n".join(wrong)
