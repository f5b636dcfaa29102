"""The route x role matrix's school dimension: in the trust of ``tests/trust.py``, every route of the
plugin's blueprint (from the URL map, as ``tests/test_access_matrix.py`` takes them) answers every person of
school ``north`` about a visit of school ``south`` exactly as it answers about a visit that does not exist:
404 (never 403, so ids reveal nothing, and never 200), or, for the GET of a URL that only takes a POST, the
redirect to the visit page, which is then a 404. Nothing of south's (a marker planted in its visits' plans
and records) appears in any page a north person can open, and the south visit is unchanged afterwards. The
trust's safeguarding lead (tom) sees both schools.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
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

from .conftest import NOW, free_port
from .test_access_matrix import EXPECTED, plugin_routes, routes_of
from .trust import TRUST_USERS, make_trust_app, signed_in, visit_factory

#: Everyone whose roles are at school north only, and tara, staff at both schools but on none of south's
#: visits: each must get from a south visit what a visit that does not exist gets.
NORTH = ("nina", "ned", "noor", "nell", "tara")
#: The trust's approver, office and safeguarding lead: sees both schools.
TRUST_ROLE = "tom"

#: Planted in every south visit's plan and record: none may appear in a page a north person opens.
PLAN_MARKERS = {"pupil": "Sasha Southmarkpupil", "address": "1 Southmarkaddress Road",
                "purpose": "Southmarkpurpose: agree a plan", "agencies": "Southmarkagencies",
                "language_needs": "Southmarklanguage"}
RECORD_MARKERS = {"points": "Southmarkpoints", "concerns": "Southmarkconcerns", "action": "Southmarkaction",
                  "owner": "Southmarkowner"}
MARKERS = tuple(("Southmarkpupil", "Southmarkaddress", "Southmarkpurpose", "Southmarkagencies",
                 "Southmarklanguage", *RECORD_MARKERS.values()))
#: Every state a south visit is tried in on the routes that only read (GET).
STATES = ("draft", "submitted", "authorised", "declined", "cancelled", "due", "checked_out", "overdue",
          "returned", "recorded")
#: An id no visit or action has.
MISSING = 987654

#: Cells checked, by kind; the last test prints the totals.


@pytest.fixture
def trust(tmp_path: Path) -> Iterator[Flask]:
    app = make_trust_app(tmp_path / "instance", HOME_VISITS_SMTP_HOST="127.0.0.1",
                         HOME_VISITS_SMTP_PORT=free_port(), HOME_VISITS_SMTP_TIMEOUT=2)
    site = tmp_path / "instance" / "home_visits_handbook"
    site.mkdir(parents=True)
    (site / "index.html").write_text("<h1>Home visits handbook</h1>")
    yield app
    state(app).engine.dispose()


def make_south(app: Flask, wanted: str) -> Visit:
    """A fresh south visit led by sol (sid second, sue the contact), markers planted, taken to ``wanted``."""
    st = state(app)
    st.clock.now = NOW  # type: ignore[attr-defined]
    first = wanted if wanted in ("draft", "submitted", "authorised") else (
        "submitted" if wanted == "declined" else "authorised")
    visit = visit_factory(app)("south", state_=first, **PLAN_MARKERS)
    sol, policy = st.directory.person(TRUST_USERS["sol"]).at("south"), st.policy_for("south")
    moves = {"declined": [], "cancelled": ["cancel"], "due": [], "checked_out": ["check_out"],
             "overdue": ["check_out"], "returned": ["check_out", "check_in"], "recorded": ["check_out", "check_in"]}
    if wanted in moves:
        assert visit.starts_at is not None
        st.clock.now = visit.starts_at - timedelta(minutes=30)  # type: ignore[attr-defined]
        with st.sessions() as session:
            stored = session.get(Visit, visit.id)
            assert stored is not None
            if wanted == "declined":
                sky = st.directory.person(TRUST_USERS["sky"]).at("south")
                services.decide(session, stored, "decline", actor=sky, policy=policy, now=st.clock(), comment="No.")
            for action in moves[wanted]:
                if action == "check_in":
                    st.clock.now = stored.starts_at + timedelta(hours=1)  # type: ignore[attr-defined]
                services.decide(session, stored, action, actor=sol, policy=policy, now=st.clock())
            if wanted == "recorded":
                st.clock.now = stored.starts_at + timedelta(hours=2)  # type: ignore[attr-defined]
                data = RecordData(outcome="took_place", setting="inside", points=RECORD_MARKERS["points"],
                                  concerns=RECORD_MARKERS["concerns"], safeguarding="raised",
                                  safeguarding_where="CPOMS", started_at=stored.starts_at,
                                  ended_at=stored.starts_at + timedelta(minutes=40),
                                  present=[{"name": "A parent", "relationship": "Mother", "agreed": True}],
                                  actions=[Action(RECORD_MARKERS["action"], RECORD_MARKERS["owner"],
                                                  date(2026, 3, 20))])
                record = recording.save(session, stored, data, actor=sol, now=st.clock(), version=None)
                session.flush()
                problems = recording.submit(session, stored, record, actor=sol, policy=policy, now=st.clock())
                assert not problems, problems
            session.commit()
        if wanted == "overdue":
            assert visit.expected_return is not None
            st.clock.now = visit.expected_return + timedelta(minutes=policy.rules.grace_minutes + 20)  # type: ignore[attr-defined]
    return visit


def _snapshot(app: Flask, visit_id: int) -> tuple[Any, ...]:
    with state(app).sessions() as session:
        visit = session.get(Visit, visit_id)
        assert visit is not None
        record = session.scalar(select(VisitRecord).where(VisitRecord.visit_id == visit_id))
        return (visit.state, visit.version, visit.acknowledged_at, visit.expected_return,
                record.version if record else None, len(record.corrections) if record else None,
                record.confirmed_at if record else None,
                tuple(a.done_at for a in record.actions) if record else ())


def _action_of(app: Flask, visit_id: int) -> int:
    with state(app).sessions() as session:
        found = session.scalar(select(RecordAction.id).join(VisitRecord).where(VisitRecord.visit_id == visit_id))
    assert found is not None
    return found


def _url(app: Flask, endpoint: str, values: dict[str, Any]) -> str:
    with app.test_request_context():
        return url_for(endpoint, **values)


def _data(endpoint: str, method: str, visit: Visit) -> dict[str, Any]:
    if method != "POST":
        return {}
    data = EXPECTED[endpoint][method].data
    return data(visit) if callable(data) else data


def _leaks(body: str) -> list[str]:
    return [marker for marker in MARKERS if marker in body]


def _arguments(app: Flask, endpoint: str) -> set[str]:
    return set(next(rule.arguments for rule in app.url_map.iter_rules() if rule.endpoint == endpoint))


#: The routes that name a visit (or a record's action) in their URL; the others are checked by what they
#: show: :func:`test_nothing_of_south_appears_to_north`.
VISIT_ROUTES = [(endpoint, method) for endpoint, method in plugin_routes() if endpoint in EXPECTED
                and EXPECTED[endpoint][method].visit is not None]


@pytest.mark.parametrize(("endpoint", "method"), VISIT_ROUTES, ids=lambda value: value.removeprefix("home_visits."))
def test_a_north_person_gets_from_a_south_visit_what_a_missing_one_gets(
        trust: Flask, endpoint: str, method: str) -> None:
    arguments = _arguments(trust, endpoint)
    assert {"visit_id", "action_id"} & arguments, endpoint
    expect = EXPECTED[endpoint][method]
    states = {expect.visit} | (set(STATES) if method == "GET" else set())
    if "action_id" in arguments:
        states = {"recorded"}
    wrong = []
    for wanted in sorted(s for s in states if s):
        visit = make_south(trust, wanted)
        before = _snapshot(trust, visit.id)
        real = {"visit_id": visit.id, "action_id": _action_of(trust, visit.id) if "action_id" in arguments else 0,
                "part_id": "pupil"}
        url = _url(trust, endpoint, {name: real[name] for name in arguments})
        missing = _url(trust, endpoint, {name: "pupil" if name == "part_id" else MISSING for name in arguments})
        for who in NORTH:
            client = signed_in(trust, who)
            response = client.open(url, method=method, data=_data(endpoint, method, visit))
            absent = client.open(missing, method=method, data=_data(endpoint, method, visit))
            status, body = response.status_code, response.get_data(as_text=True)
            if status == 303 and absent.status_code == 303 and method == "GET":
                # A redirect to where the form lives: to the visit (then a 404), or to a page that names
                # no visit, exactly where a missing id is sent.
                where, elsewhere = response.headers["Location"], absent.headers["Location"]
                followed = client.get(where)
                if where != elsewhere and followed.status_code != 404:
                    wrong.append(f"{wanted} {who}: the redirect leads to {followed.status_code}, not 404")
                body += followed.get_data(as_text=True)
            elif status != 404 or absent.status_code != 404:
                wrong.append(f"{wanted} {who}: {method} {url} gave {status} (a missing id: {absent.status_code})")
            if leaks := _leaks(body):
                wrong.append(f"{wanted} {who}: {method} {url} shows {', '.join(leaks)}")
        if _snapshot(trust, visit.id) != before:
            wrong.append(f"{wanted}: {method} {url} by someone of north changed the south visit")
        if method == "GET" and wanted == expect.visit:  # the trust's lead sees it where the route serves it
            answer = signed_in(trust, TRUST_ROLE).get(url)
            if answer.status_code == 404 or answer.status_code >= 500:
                wrong.append(f"{wanted} {TRUST_ROLE}: GET {url} gave {answer.status_code}")
    assert not wrong, f"{method} {endpoint}:\n" + "\n".join(wrong)


#: Pages with no visit in their URL, as north's people open them (south's visits must not show).
PAGES = ("/home-visits/", "/home-visits/?scope=all", "/home-visits/?scope=all&page=2", "/home-visits/approvals",
         "/home-visits/dashboard", "/home-visits/reports?start=2026-03-01&end=2026-03-31",
         "/home-visits/reports.csv?start=2026-03-01&end=2026-03-31&names=y", "/home-visits/calendar/",
         "/home-visits/settings", "/home-visits/new", "/home-visits/new?school=north",
         "/home-visits/handbook/index.html")


def test_nothing_of_south_appears_to_north(trust: Flask) -> None:
    """South visits in every state (alarms, an overdue, an open action) and a north visit to the same
    family: no page a north person can open shows south's markers; the trust's lead sees them."""
    routes = {endpoint for endpoint, _ in routes_of(trust)}
    south = {wanted: make_south(trust, wanted) for wanted in STATES}
    st = state(trust)
    with st.sessions() as session:  # an alarm on the south visit that is out
        out = session.get(Visit, south["checked_out"].id)
        from home_visits.safety import service as escalation

        escalation.raise_alarm(session, out, actor=st.directory.person(TRUST_USERS["sol"]).at("south"),
                               policy=st.policy_for("south"), now=st.clock())
        session.commit()
    late = south["overdue"].expected_return + timedelta(minutes=50)  # type: ignore[operator]
    st.clock.now = NOW  # type: ignore[attr-defined]
    north = visit_factory(trust)("north", address=PLAN_MARKERS["address"].lower())  # the same family, at north
    st.clock.now = late  # type: ignore[attr-defined]
    pages = [*PAGES, f"/home-visits/{north.id}", f"/home-visits/new?like={north.id}"]
    wrong = []
    for who in NORTH:
        for path in pages:
            response = signed_in(trust, who).get(path)
            if response.status_code >= 500:
                wrong.append(f"{who} {path}: {response.status_code}")
            if leaks := _leaks(response.get_data(as_text=True)):
                wrong.append(f"{who} {path}: shows {', '.join(leaks)}")
    assert not wrong, "south's visits seen at north:\n" + "\n".join(wrong)
    tom = signed_in(trust, TRUST_ROLE)
    assert "Southmarkpupil" in tom.get("/home-visits/?scope=all").get_data(as_text=True)
    assert "Southmarkaddress" in tom.get("/home-visits/dashboard").get_data(as_text=True)
    assert "Southmarkpupil" in tom.get(PAGES[6]).get_data(as_text=True)
    assert "Southmarkaction" in tom.get(f"/home-visits/{north.id}").get_data(as_text=True)
    assert {"home_visits.my_visits", "home_visits.dashboard", "home_visits.reports"} <= routes


def test_a_north_feed_holds_nothing_of_south(trust: Flask) -> None:
    for wanted in ("authorised", "checked_out", "recorded"):
        make_south(trust, wanted)
    st = state(trust)
    for who in NORTH:
        person = st.directory.person(TRUST_USERS[who])
        with st.sessions() as session:
            token = feeds.issue(session, person, scope=feeds.scope_for(person, st.policy.rules.authorisers),
                                now=st.clock())
            session.commit()
        body = trust.test_client().get(f"/home-visits/calendar/{token}.ics").get_data(as_text=True)
        assert not _leaks(body) and "Sasha" not in body, who
