"""At the door, on a phone (360 x 740): check out, go overdue, the office acknowledges, back safe."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from home_visits.extension import state
from home_visits.models import Visit
from tests.conftest import Clock

from .conftest import assert_no_axe_violations, login

pytestmark = pytest.mark.browser

#: Screenshots of the phone pages, for a person to look at after a run.
SHOTS = Path(tempfile.gettempdir()) / "home-visits-screenshots"
SHOTS.mkdir(exist_ok=True)
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}


def fits_the_screen(page: Page) -> None:
    """No sideways scrolling on a 360 px screen."""
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 360, f"the page is {wide}px wide on a 360px screen"


def in_first_screen(page: Page, *locators: Any) -> None:
    """Each control is on the first 360 x 740 screen, whole, without scrolling."""
    page.evaluate("window.scrollTo(0, 0)")
    for locator in locators:
        box = locator.bounding_box()
        assert box is not None, f"{locator} is not shown"
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360, f"{locator} is off the side: {box}"
        assert box["y"] >= 0 and box["y"] + box["height"] <= 740, f"{locator} is below the fold: {box}"


def test_check_out_overdue_acknowledge_back_safe(start_portal, new_page) -> None:
    portal = start_portal(seed=True)
    app = portal.app
    with state(app).sessions() as session:
        visit = session.scalars(select(Visit).where(Visit.state == "authorised")).one()
    clock = Clock(visit.starts_at - timedelta(minutes=2))
    state(app).clock = clock

    sam = new_page(portal, **PHONE)
    login(sam, "sam")
    sam.goto(f"/home-visits/{visit.id}")
    check_out = sam.get_by_role("button", name="Check out: visit starting")
    expect(check_out).to_be_visible()
    fits_the_screen(sam)
    assert_no_axe_violations(sam, what="the authorised visit on a phone")
    check_out.tap()
    expect(sam.get_by_role("heading", name="You are out on this visit")).to_be_visible()
    for name in ("I'm back safe", "Extend", "Alert the office now"):
        expect(sam.get_by_role("button", name=name)).to_be_visible()
    expect(sam.get_by_role("link", name="Call 999")).to_have_attribute("href", "tel:999")
    fits_the_screen(sam)
    sam.screenshot(path=str(SHOTS / "visit-out-phone.png"))
    in_first_screen(sam, sam.get_by_role("button", name="I'm back safe"),
                    sam.get_by_role("button", name="Alert the office now"), sam.get_by_role("link", name="Call 999"),
                    sam.get_by_role("button", name="Report an incident"))
    assert_no_axe_violations(sam, what="the visit while out, on a phone")
    sam.get_by_label("What happened").select_option("aggression")
    sam.get_by_role("button", name="Report an incident").tap()
    expect(sam.get_by_text("call 999", exact=False).first).to_be_visible()  # emailed, or told to phone
    expect(sam.get_by_text("Incident reported: Aggression or threats")).to_be_visible()
    assert_no_axe_violations(sam, what="the visit after reporting an incident, on a phone")

    clock.now = visit.expected_return + timedelta(minutes=15 + 4)  # past the grace
    office = new_page(portal, **PHONE)
    login(office, "office")
    office.goto("/home-visits/dashboard")
    banner = office.get_by_role("article").filter(has_text="past the expected return")
    expect(banner).to_contain_text(f"Visit {visit.id} (R.E.): Sam Patel, 19 minutes past the expected return")
    expect(banner).to_contain_text("07700 900101")
    alarm = office.get_by_role("article").filter(has_text="incident, aggression or threats")
    expect(alarm).to_contain_text("Raised by Sam Patel")
    fits_the_screen(office)
    office.screenshot(path=str(SHOTS / "dashboard-phone.png"), full_page=True)
    assert_no_axe_violations(office, what="the dashboard with an overdue visit, on a phone")
    banner.get_by_role("button", name="I'm handling this").tap()
    expect(office.get_by_text("School Office is handling this")).to_be_visible()
    expect(office.get_by_role("heading", name="Open alarms (1)")).to_have_count(0)  # handled with the visit
    assert_no_axe_violations(office, what="the dashboard after acknowledging")

    sam.reload()
    expect(sam.get_by_role("alert")).to_contain_text("Overdue: 19 minutes past the expected return.")
    sam.get_by_role("button", name="I'm back safe").tap()
    expect(sam.get_by_text("Welcome back: the visit is closed off.")).to_be_visible()
    expect(sam.locator(".hv-state").first).to_have_text("Back safe")
    assert_no_axe_violations(sam, what="the visit after closing off")
    office.reload()
    expect(office.get_by_text("Nobody is overdue.")).to_be_visible()
