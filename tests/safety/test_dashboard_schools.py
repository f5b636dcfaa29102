"""The "who is out" dashboard in a trust: each school's office sees only its school's visits, alarms and
alerts, each visit's status follows its own school's grace, and whoever oversees more than one school sees
one page of each school's counts and every open alarm, each school's name opening its own page."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from flask import Flask

from home_visits.extension import state
from home_visits.models import Visit
from home_visits.plans import service as services
from home_visits.safety import service as escalation

from ..trust import TRUST_USERS, make_trust_app, signed_in, visit_factory

START = datetime(2026, 3, 4, 10, 0, tzinfo=timezone.utc)
#: 20 minutes past the expected return (11:00): past north's 10 minutes' grace, within south's 30.
LATE = START + timedelta(hours=1, minutes=20)


@pytest.fixture
def trust(tmp_path: Path) -> Flask:
    app = make_trust_app(tmp_path / "instance")
    yield app
    state(app).engine.dispose()


def _out(app: Flask, school: str, address: str) -> Visit:
    """A visit of ``school`` to ``address``, checked out by its lead at its start."""
    visit = visit_factory(app)(school, address=address, starts_at=START, expected_return=START + timedelta(hours=1))
    st = state(app)
    with st.sessions() as session:
        stored = session.get(Visit, visit.id)
        lead = st.directory.person(TRUST_USERS[stored.lead_id]).at(school)
        services.decide(session, stored, "check_out", actor=lead, policy=st.policy_for(school), now=START)
        session.commit()
        return stored


def _section(app: Flask, who: str, school: str) -> str:
    """``school``'s own dashboard, as ``who`` opens it from the trust's page."""
    client = signed_in(app, who)
    trust = client.get("/home-visits/dashboard").get_data(as_text=True)
    assert f'href="/home-visits/dashboard?school={school}"' in trust
    return client.get(f"/home-visits/dashboard?school={school}").get_data(as_text=True)


def test_each_office_sees_only_its_school_and_each_visit_is_late_by_its_own_school(trust: Flask) -> None:
    north = _out(trust, "north", "1 Northmark Road")
    _out(trust, "south", "2 Southmark Road")
    state(trust).clock.now = LATE  # type: ignore[attr-defined]
    nell = signed_in(trust, "nell").get("/home-visits/dashboard").get_data(as_text=True)
    assert "Northmark" in nell and "Southmark" not in nell and "South Academy" not in nell
    assert "Overdue (1)" in nell and "Out now (0)" in nell and f"Visit {north.id} " in nell
    sue = signed_in(trust, "sue").get("/home-visits/dashboard").get_data(as_text=True)
    assert "Southmark" in sue and "Northmark" not in sue and "North Primary" not in sue
    assert "Overdue (0)" in sue and "Out now (1)" in sue
    assert signed_in(trust, "noor").get("/home-visits/dashboard").status_code == 200  # north's approver
    assert signed_in(trust, "nina").get("/home-visits/dashboard").status_code == 403


def test_the_trust_dashboard_counts_each_school_and_opens_each_schools_own_page(trust: Flask) -> None:
    _out(trust, "north", "1 Northmark Road")
    _out(trust, "south", "2 Southmark Road")
    state(trust).clock.now = LATE  # type: ignore[attr-defined]
    response = signed_in(trust, "tom").get("/home-visits/dashboard")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Northmark" not in page and "Southmark" not in page
    def counts(*numbers: int) -> str:
        return r"</a></th>\s*" + r"\s*".join(f"<td[^>]*>{n}</td>" for n in numbers)

    assert re.search("North Primary" + counts(0, 1, 0, 0, 0, 0), page)  # 1 overdue by north's 10 minutes
    assert re.search("South Academy" + counts(0, 0, 0, 1, 0, 0), page)  # out, within south's 30
    assert page.index("North Primary") < page.index("South Academy")
    north, south = _section(trust, "tom", "north"), _section(trust, "tom", "south")
    assert "Northmark" in north and "Southmark" not in north and "Overdue (1)" in north and "Out now (0)" in north
    assert "Southmark" in south and "Northmark" not in south and "Overdue (0)" in south and "Out now (1)" in south
    assert "Back to every school" in north
    assert signed_in(trust, "nell").get("/home-visits/dashboard?school=south").status_code == 404
    assert signed_in(trust, "tom").get("/home-visits/dashboard?school=west").status_code == 404


def test_an_alarm_shows_only_on_its_own_school_dashboard(trust: Flask) -> None:
    south = _out(trust, "south", "2 Southmark Road")
    st = state(trust)
    with st.sessions() as session:
        stored = session.get(Visit, south.id)
        sol = st.directory.person(TRUST_USERS["sol"]).at("south")
        escalation.raise_alarm(session, stored, actor=sol, policy=st.policy_for("south"), now=START)
        session.commit()
    nell = signed_in(trust, "nell").get("/home-visits/dashboard").get_data(as_text=True)
    assert "Open alarms" not in nell and "Southmark" not in nell
    sue = signed_in(trust, "sue").get("/home-visits/dashboard").get_data(as_text=True)
    assert "Open alarms (1)" in sue
    tom = signed_in(trust, "tom").get("/home-visits/dashboard").get_data(as_text=True)
    assert "Open alarms (1)" in tom and "South, visit" in tom and "Southmark" in tom  # every alarm, in full
    assert "Open alarms (1)" in _section(trust, "tom", "south") and "Open alarms" not in _section(trust, "tom", "north")


def test_someone_with_the_office_at_two_schools_sees_both(tmp_path: Path) -> None:
    from ..conftest import User

    both = User("olly", "Olly Office", "olly@trust.example", "", ("north:office", "south:office"))
    TRUST_USERS["olly"] = both
    try:
        app = make_trust_app(tmp_path / "instance")
        _out(app, "south", "2 Southmark Road")
        page = signed_in(app, "olly").get("/home-visits/dashboard").get_data(as_text=True)
        assert "North Primary" in page and "Southmark" in _section(app, "olly", "south")
        state(app).engine.dispose()
    finally:
        TRUST_USERS.pop("olly")
