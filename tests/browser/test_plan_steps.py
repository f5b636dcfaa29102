"""The plan form as steps, then "Check your answers" (the GOV.UK pattern): the filled plan is saved as a
draft, the lead reads it whole (the same summary an approver reads), changes any part through its "Change"
link and submits it from there. Without JavaScript, and a reload never meets a 405."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from home_visits.extension import state
from home_visits.models import Visit
from tests.conftest import Clock

from .conftest import assert_no_axe_violations, login
from .test_plan_journey import fill_plan, visit_day

pytestmark = pytest.mark.browser

WIDE = {"viewport": {"width": 1280, "height": 800}}
#: The plan's parts, in the order of the form: (anchor, title).
PARTS = [("part-pupil", "Pupil and address"), ("part-why", "Why visit"), ("part-when", "When"),
         ("part-who", "Who goes, and who knows"), ("part-family", "The family"), ("part-risk", "Risk assessment"),
         ("part-before", "Before you go")]
CHECK = "Check your answers before submitting"


def visits(portal) -> list[Visit]:
    with state(portal.app).sessions() as session:
        return list(session.scalars(select(Visit)).all())


def reopen(page: Page) -> None:
    """Open the address the browser shows again, as a GET (a reload after a POST, Enter in the address bar)."""
    response = page.goto(page.url)
    assert response is not None and response.status < 400, f"{page.url} answered {response and response.status}"


def summary_texts(page: Page) -> dict[str, str]:
    """Each part of the plan's summary, by its heading: the answers as the page shows them (no links)."""
    parts = page.locator(".hv-plan-summary section")
    return {part.get_by_role("heading").inner_text(): part.locator("dl").inner_text() for part in parts.all()}


def test_continue_saves_a_draft_and_the_lead_checks_changes_and_submits_without_javascript(
        start_portal, new_page) -> None:
    portal = start_portal(seed=False)
    day = visit_day()
    sam = new_page(portal, java_script_enabled=False, **WIDE)
    login(sam, "sam")
    sam.goto("/home-visits/new")

    steps = sam.get_by_role("navigation", name="Steps")
    expect(steps.get_by_role("listitem")).to_have_count(len(PARTS) + 1)
    for anchor, title in PARTS:
        expect(steps.get_by_role("link", name=title, exact=True)).to_have_attribute("href", f"#{anchor}")
    expect(steps.get_by_role("listitem").last).to_have_text("Check your answers and submit")
    expect(sam.get_by_role("button", name="Submit for authorisation")).to_have_count(0)  # that is the last step

    fill_plan(sam, day=day, contact="School Office")
    sam.get_by_role("button", name="Continue").click()
    expect(sam.get_by_role("heading", level=1)).to_have_text(CHECK)
    expect(sam).to_have_url(re.compile(r"/home-visits/\d+/check$"))
    [draft] = visits(portal)
    assert draft.state == "draft", "continuing saves the plan as a draft; it is not submitted yet"
    expect(sam.get_by_role("status")).to_contain_text("saved as a draft")

    summary = sam.locator(".hv-plan-summary")
    for anchor, title in PARTS:
        part = summary.locator("section").filter(has=sam.get_by_role("heading", name=title, exact=True))
        change = part.get_by_role("link", name=f"Change {title.lower()}")
        part_url = rf"/home-visits/{draft.id}/parts/{anchor[5:]}\?back=check$"
        expect(change).to_have_attribute("href", re.compile(part_url))
    expect(summary).to_contain_text("Riley Example")
    expect(summary).to_contain_text(f"{day.strftime('%a %d %b %Y')}, 10:00–11:00")
    expect(summary).to_contain_text("School Office, 01632 960000")

    sam.reload()  # the page after a POST: a reload shows it again, never a 405
    expect(sam.get_by_role("heading", level=1)).to_have_text(CHECK)

    summary.get_by_role("link", name="Change when").click()
    expect(sam).to_have_url(re.compile(rf"/home-visits/{draft.id}/parts/when\?back=check$"))
    expect(sam.get_by_role("heading", level=1)).to_have_text("When")  # that part alone, on its own page
    sam.get_by_label("Start time", exact=True).fill("10:30")
    sam.get_by_role("button", name="Continue").click()
    expect(sam.get_by_role("heading", level=1)).to_have_text(CHECK)
    expect(summary).to_contain_text(f"{day.strftime('%a %d %b %Y')}, 10:30–11:00")
    checked = summary_texts(sam)
    assert list(checked) == [title for _, title in PARTS], checked
    assert len(visits(portal)) == 1, "changing a part saves the same draft, not a second one"

    sam.get_by_role("button", name="Submit for authorisation").click()
    expect(sam.get_by_role("heading", level=1)).to_have_text("Home visit: Riley Example")
    expect(sam.get_by_role("status")).to_contain_text("Submitted for authorisation.")
    expect(sam.locator(".hv-state")).to_have_text("Awaiting authorisation")
    reopen(sam)
    expect(sam.locator(".hv-state")).to_have_text("Awaiting authorisation")

    # What the lead checked is what the approver reads: the same parts, the same answers.
    alex = new_page(portal, **WIDE)
    login(alex, "alex")
    alex.goto(f"/home-visits/{draft.id}")
    expect(alex.get_by_role("button", name="Authorise")).to_be_visible()
    assert summary_texts(alex) == checked
    expect(alex.locator(".hv-plan-summary").get_by_role("link", name=re.compile("^Change"))).to_have_count(0)


def test_rules_stop_continue_and_submit_and_nothing_is_half_saved(start_portal, new_page) -> None:
    portal = start_portal(seed=False)
    day = visit_day()
    sam = new_page(portal, **WIDE)
    login(sam, "sam")
    sam.goto("/home-visits/new")
    print(f"plan form at 1280 wide: {sam.evaluate('document.documentElement.scrollHeight')}px")

    fill_plan(sam, day=day, contact="Jo Jones")  # Jo is going on the visit: she cannot be the contact
    sam.get_by_role("button", name="Continue").click()
    expect(sam.get_by_role("alert")).to_contain_text("There is a problem with this plan")
    expect(sam.locator("#contact_id-error")).to_contain_text("choose someone who is not on the visit")
    expect(sam.get_by_role("heading", level=1)).to_have_text("Plan a home visit")
    assert visits(portal) == [], "a plan that breaks a rule is not saved"
    reopen(sam)  # the address is the form's: reopening it shows the form again, not a 405
    expect(sam.get_by_role("heading", level=1)).to_have_text("Plan a home visit")

    fill_plan(sam, day=day, contact="School Office")
    sam.get_by_role("button", name="Continue").click()
    expect(sam.get_by_role("heading", level=1)).to_have_text(CHECK)
    assert_no_axe_violations(sam, what="check your answers")
    [draft] = visits(portal)

    # By the time Sam submits, the visit's start has passed: the rules run again and refuse it.
    state(portal.app).clock = Clock(draft.starts_at + timedelta(minutes=5))
    sam.get_by_role("button", name="Submit for authorisation").click()
    problem = sam.get_by_role("alert")
    expect(problem).to_contain_text("The visit cannot start in the past")
    expect(problem.get_by_role("link", name=re.compile("cannot start in the past"))).to_have_attribute(
        "href", re.compile(rf"/home-visits/{draft.id}/parts/when\?check=1&back=check#start_time$"))
    expect(sam.get_by_role("button", name="Submit for authorisation")).to_have_count(0)
    assert [v.state for v in visits(portal)] == ["draft"]
    assert_no_axe_violations(sam, what="check your answers with a problem")
    reopen(sam)
    expect(sam.get_by_role("heading", level=1)).to_have_text(CHECK)
    expect(sam.get_by_role("alert")).to_contain_text("The visit cannot start in the past")

    # Its link opens the part at the field, with the message beside it.
    sam.get_by_role("alert").get_by_role("link", name=re.compile("cannot start in the past")).click()
    expect(sam.get_by_role("heading", level=1)).to_have_text("When")
    start = sam.get_by_label("Start time", exact=True)
    expect(start).to_be_in_viewport()
    expect(start).to_have_accessible_description(re.compile("The visit cannot start in the past"))
    assert_no_axe_violations(sam, what="the part opened from a problem on check your answers")
