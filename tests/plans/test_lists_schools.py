"""Lists in a trust: each shows only what the person may see at each school, names each visit's school
when the portal has more than one, and reads each visit with its own school's policy; a one-school portal's
lists gain nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from home_visits.extension import state

from ..trust import TRUST_USERS, make_trust_app, signed_in, visit_factory


@pytest.fixture
def trust(tmp_path: Path) -> Flask:
    app = make_trust_app(tmp_path / "instance")
    make = visit_factory(app)
    make("north", pupil="Nora Northmark")
    make("south", pupil="Sam Southmark")
    make("north", state_="submitted", pupil="Nia Northmark")
    make("south", state_="submitted", pupil="Sid Southmark")
    yield app
    state(app).engine.dispose()


def _school_cells(page: str) -> list[str]:
    return re.findall(r'<td class="hv-school-tag"[^>]*>([^<]*)</td>', page)


def test_all_visits_and_approvals_show_each_school_only_to_its_people_and_name_it(trust: Flask) -> None:
    nell = signed_in(trust, "nell").get("/home-visits/?scope=all").get_data(as_text=True)
    assert "Northmark" in nell and "Southmark" not in nell and set(_school_cells(nell)) == {"North"}
    tom = signed_in(trust, "tom").get("/home-visits/?scope=all").get_data(as_text=True)
    assert "Nora Northmark" in tom and "Sam Southmark" in tom and set(_school_cells(tom)) == {"North", "South"}
    noor = signed_in(trust, "noor").get("/home-visits/approvals").get_data(as_text=True)
    assert set(_school_cells(noor)) == {"North"} and len(_school_cells(noor)) == 1
    tom_queue = signed_in(trust, "tom").get("/home-visits/approvals").get_data(as_text=True)
    assert sorted(_school_cells(tom_queue)) == ["North", "South"]


def test_my_visits_names_the_school_of_each_of_my_visits(trust: Flask) -> None:
    make = visit_factory(trust)
    make("north", lead="tara", pupil="Tia Northmark")
    make("south", lead="tara", pupil="Tess Southmark")
    page = signed_in(trust, "tara").get("/home-visits/").get_data(as_text=True)
    assert sorted(_school_cells(page)) == ["North", "South"]
    nina = signed_in(trust, "nina").get("/home-visits/").get_data(as_text=True)
    assert "Southmark" not in nina and set(_school_cells(nina)) == {"North"}


def test_a_one_school_portal_lists_gain_no_school_column(client: FlaskClient, login: object,
                                                         create_visit: object) -> None:
    create_visit(state_="submitted")  # type: ignore[operator]
    pages = (("pat", "/home-visits/?scope=all"), ("sam", "/home-visits/"), ("blair", "/home-visits/approvals"))
    for user, path in pages:
        page = login(user).get(path).get_data(as_text=True)  # type: ignore[operator]
        assert "hv-school-tag" not in page and ">School<" not in page, (user, path)


def test_the_card_and_the_subscribe_page_speak_of_the_visits_own_school(trust: Flask) -> None:
    make = visit_factory(trust)
    north, south = make("north"), make("south")
    assert "After 10 minutes" in signed_in(trust, "nina").get(f"/home-visits/{north.id}/card").get_data(as_text=True)
    assert "After 30 minutes" in signed_in(trust, "sol").get(f"/home-visits/{south.id}/card").get_data(as_text=True)
    nell = signed_in(trust, "nell").get("/home-visits/calendar/").get_data(as_text=True)
    assert "every planned visit of North Primary" in nell and "South Academy" not in nell
    tom = signed_in(trust, "tom").get("/home-visits/calendar/").get_data(as_text=True)
    assert "every planned visit of North Primary and South Academy" in tom
    tara = signed_in(trust, "tara").get("/home-visits/calendar/").get_data(as_text=True)
    assert "the visits you are part of" in tara and "every planned visit" not in tara


def test_the_menu_offers_what_the_person_may_do_at_any_school_even_on_another_schools_visit(trust: Flask) -> None:
    from ..conftest import User

    TRUST_USERS["ava"] = User("ava", "Ava Both", "ava@trust.example", "", ("north:staff", "south:approver"))
    try:
        visit = visit_factory(trust)("north", lead="ava")
        page = signed_in(trust, "ava").get(f"/home-visits/{visit.id}").get_data(as_text=True)
        assert ">Approvals</a>" in page and ">Who is out</a>" in page
        nell = signed_in(trust, "nell").get("/home-visits/").get_data(as_text=True)
        assert ">Who is out</a>" in nell and ">Approvals</a>" not in nell
    finally:
        TRUST_USERS.pop("ava")
