"""After the visit: write the record with one fact and one opinion, submit, see it locked, correct it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from home_visits.extension import state
from home_visits.models import Visit
from tests.conftest import Clock

from .conftest import assert_no_axe_violations, login

pytestmark = pytest.mark.browser


def test_write_submit_locked_then_correct(start_portal, new_page) -> None:
    portal = start_portal(seed=True)
    app = portal.app
    with state(app).sessions() as session:
        visit = session.scalars(select(Visit).where(Visit.state == "authorised")).one()
    clock = Clock(visit.starts_at)
    state(app).clock = clock

    page = new_page(portal)
    login(page, "sam")
    page.goto(f"/home-visits/{visit.id}")
    page.get_by_role("button", name="Check out: visit starting").click()
    clock.now = visit.expected_return - timedelta(minutes=5)
    page.get_by_role("button", name="I'm back safe").click()
    clock.now = visit.expected_return + timedelta(minutes=30)
    page.get_by_role("link", name="Write the visit record").click()
    expect(page.get_by_role("heading", name="Visit record: Riley Example")).to_be_visible()
    assert_no_axe_violations(page, what="the empty record form")

    page.get_by_role("group", name="What happened").get_by_label("The visit took place").check()
    page.get_by_role("group", name="Where you talked").get_by_label("Inside the home").check()
    start = visit.starts_at.astimezone(state(app).policy.zone)
    page.get_by_label("Started at").fill(start.strftime("%H:%M"))
    page.get_by_label("Ended at").fill((start + timedelta(minutes=40)).strftime("%H:%M"))
    page.get_by_label("Person 1: name").fill("Ms R Example")
    page.get_by_label("Person 1: relationship to the child").fill("Mother")
    page.get_by_label("Points discussed").fill("The week's absences and the morning routine.")
    page.get_by_label("Observation 1: fact or opinion").select_option("fact")
    page.get_by_label("Observation 1", exact=True).fill("Riley was at home and dressed at 9:40.")
    expect(page.get_by_label("Observation 2", exact=True)).to_have_count(0)  # one row to start with
    page.get_by_role("button", name="Add another observation").click()  # no JavaScript: the form comes back
    expect(page.get_by_label("Observation 1", exact=True)).to_have_value("Riley was at home and dressed at 9:40.")
    page.get_by_label("Observation 2", exact=True).fill("Mum seemed overwhelmed.")
    page.get_by_role("button", name="Submit the record").click()
    # The opinion was not marked: the message sits at the observations.
    expect(page.locator("#observations-error")).to_have_text("Mark observation 2 as a fact or an opinion.")
    assert_no_axe_violations(page, what="the record form with a problem")
    page.get_by_label("Observation 2: fact or opinion").select_option("opinion")
    page.get_by_role("button", name="Submit the record").click()

    expect(page.get_by_text("Submitted and locked")).to_be_visible()
    expect(page.get_by_text("Fact: Riley was at home and dressed at 9:40.")).to_be_visible()
    expect(page.get_by_text("Opinion: Mum seemed overwhelmed.")).to_be_visible()
    expect(page.get_by_role("button", name="Submit the record")).to_have_count(0)
    assert_no_axe_violations(page, what="the submitted record")

    page.get_by_label("What the correction is about").select_option(label="Observations")
    page.get_by_label("The correction", exact=True).fill("Riley was dressed at 9:45, not 9:40.")
    page.get_by_label("Why it needs correcting").fill("I misread my notes.")
    page.get_by_role("button", name="Add the correction").click()
    expect(page.get_by_text("Correction added.")).to_be_visible()
    expect(page.get_by_text("Fact: Riley was at home and dressed at 9:40.")).to_be_visible()  # the original stays
    expect(page.get_by_text("Riley was dressed at 9:45, not 9:40.")).to_be_visible()
    assert_no_axe_violations(page, what="the record with a correction")
