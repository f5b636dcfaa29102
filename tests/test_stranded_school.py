"""A school no longer configured (after an upgrade, or when a school leaves the trust) strands its visits
until ``flask home-visits schools move`` gives them to a configured school. Meanwhile every page that lists
or counts visits must still answer, for every role, and must not show a stranded visit (its own page is a
404): the trust-wide roles' "every school" views drop their school filter, so they are where it would leak.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import update

from home_visits.extension import state
from home_visits.models import Visit

from .calendar.test_feed import new_link
from .test_access_matrix_schools import MARKERS, NOW, make_south, trust  # noqa: F401 - the trust fixture
from .trust import signed_in, visit_factory

#: Every page of the plugin that lists or counts visits, as each role opens it.
YEAR = "start=2026-01-01&end=2026-12-31"
PAGES = ("/home-visits/", "/home-visits/?scope=all", "/home-visits/approvals", "/home-visits/dashboard",
         "/home-visits/dashboard?school=north", "/home-visits/reports", f"/home-visits/reports?school=trust&{YEAR}",
         f"/home-visits/reports.csv?school=trust&{YEAR}", f"/home-visits/reports?{YEAR}", "/home-visits/calendar/")
#: The trust-wide approver, office and DSL, a north approver, office and member of staff, and sol, the
#: lead of the visits that are stranded.
PEOPLE = ("tom", "noor", "nell", "nina", "sol")
STRANDED_STATES = ("submitted", "authorised", "checked_out", "overdue", "recorded")


@pytest.fixture
def stranded(trust: Flask) -> Iterator[tuple[Flask, dict[str, Visit], Visit]]:  # noqa: F811 - the fixture
    """South visits in every listed state, then moved under ``gone`` (no such school), and one north plan
    awaiting a decision that the same pages must still show."""
    app = trust
    visits = {wanted: make_south(app, wanted) for wanted in STRANDED_STATES}
    st = state(app)
    st.clock.now = NOW  # type: ignore[attr-defined]
    north = visit_factory(app)("north", state_="submitted", pupil="Nora Northkept")
    st.clock.now = visits["overdue"].expected_return + (NOW - NOW.replace(hour=7))  # type: ignore[attr-defined, operator]
    with st.sessions() as session:
        session.execute(update(Visit).where(Visit.school_id == "south").values(school_id="gone"))
        session.commit()
    yield app, visits, north


@pytest.mark.parametrize("person", PEOPLE)
def test_every_list_answers_and_leaves_out_the_visits_of_a_school_no_longer_configured(
        stranded: tuple[Flask, dict[str, Visit], Visit], person: str) -> None:
    app, visits, north = stranded
    client = signed_in(app, person)
    for page in PAGES:
        response = client.get(page)
        expected = (200,) if person == "tom" else (200, 403, 404)  # 403/404: not theirs to open
        assert response.status_code in expected, (person, page, response.status_code)
        body = response.get_data(as_text=True)
        assert not [marker for marker in MARKERS if marker in body] and "Sasha" not in body, (person, page)
        for visit in visits.values():
            assert f"/home-visits/{visit.id}\"" not in body, (person, page, visit.id)
    for visit in visits.values():
        assert client.get(f"/home-visits/{visit.id}").status_code == 404


def test_the_trusts_queue_still_offers_the_plans_of_configured_schools(
        stranded: tuple[Flask, dict[str, Visit], Visit]) -> None:
    app, _, north = stranded
    page = signed_in(app, "tom").get("/home-visits/approvals")
    assert page.status_code == 200
    assert f"/home-visits/{north.id}" in page.get_data(as_text=True)
    listed = signed_in(app, "tom").get("/home-visits/?scope=all").get_data(as_text=True)
    assert f"/home-visits/{north.id}" in listed


def test_a_trust_wide_feed_leaves_out_stranded_visits(stranded: tuple[Flask, dict[str, Visit], Visit]) -> None:
    app, visits, north = stranded
    client = signed_in(app, "tom")
    feed = client.get(new_link(client))
    assert feed.status_code == 200
    ids = {int(n) for n in re.findall(r"UID:home-visit-(\d+)@", feed.get_data(as_text=True))}
    assert ids and not ids & {visit.id for visit in visits.values()}, ids


def test_stranded_school_pages_hold_after_the_move_command(stranded: tuple[Flask, dict[str, Visit], Visit],
                                                          tmp_path: Path) -> None:
    app, visits, _ = stranded
    result = app.test_cli_runner().invoke(args=["home-visits", "schools", "move", "gone", "south"])
    assert result.exit_code == 0, result.output
    page = signed_in(app, "tom").get(f"/home-visits/{visits['submitted'].id}")
    assert page.status_code == 200 and "Southmarkpupil" in page.get_data(as_text=True)
