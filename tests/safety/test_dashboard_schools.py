"""The "who is out" dashboard in a trust: each school's office sees only its school's visits, alarms and
alerts, each visit's status follows its own school's grace, and whoever oversees more than one school sees
one page grouped by school, with each school's counts at the top."""

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


def _section(page: str, school: str) -> str:
    """The part of the trust dashboard under ``school``'s heading."""
    found = re.search(rf'<section[^>]*id="hv-school-{school}".*?</section>', page, re.S)
    assert found, f"no section for {school}"
    return found.group(0)


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


def test_the_trust_dashboard_is_grouped_by_school_with_counts_first(trust: Flask) -> None:
    _out(trust, "north", "1 Northmark Road")
    _out(trust, "south", "2 Southmark Road")
    state(trust).clock.now = LATE  # type: ignore[attr-defined]
    response = signed_in(trust, "tom").get("/home-visits/dashboard")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    counts = page[:page.index('id="hv-school-north"')]
    assert re.search(r"North Primary</a></th>\s*<td>0</td>\s*<td>1</td>\s*<td>0</td>\s*<td>0</td>", counts)
    assert re.search(r"South Academy</a></th>\s*<td>0</td>\s*<td>0</td>\s*<td>0</td>\s*<td>1</td>", counts)
    north, south = _section(page, "north"), _section(page, "south")
    assert "Northmark" in north and "Southmark" not in north and "Overdue (1)" in north and "Out now (0)" in north
    assert "Southmark" in south and "Northmark" not in south and "Overdue (0)" in south and "Out now (1)" in south
    assert page.index('id="hv-school-north"') < page.index('id="hv-school-south"')


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
    assert "Open alarms (1)" in _section(tom, "south") and "Open alarms" not in _section(tom, "north")


def test_someone_with_the_office_at_two_schools_sees_both(tmp_path: Path) -> None:
    from ..conftest import User

    both = User("olly", "Olly Office", "olly@trust.example", "", ("north:office", "south:office"))
    TRUST_USERS["olly"] = both
    try:
        app = make_trust_app(tmp_path / "instance")
        _out(app, "south", "2 Southmark Road")
        page = signed_in(app, "olly").get("/home-visits/dashboard").get_data(as_text=True)
        assert 'id="hv-school-north"' in page and "Southmark" in _section(page, "south")
        state(app).engine.dispose()
    finally:
        TRUST_USERS.pop("olly")
