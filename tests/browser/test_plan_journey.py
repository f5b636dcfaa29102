"""The whole journey of one plan, in Chromium, as staff and the headteacher see it.

Sam plans a visit, gets one field wrong, reads the message beside it, fixes it, checks his answers
and submits; Alex (the headteacher, in a separate browser context) authorises it from the Approvals
queue; Sam reloads and sees it authorised. Every page on the way has no axe-core violations.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from .conftest import assert_no_axe_violations, login

pytestmark = pytest.mark.browser

CONTACT_MESSAGE = "The responsible contact must stay behind: choose someone who is not on the visit."


def visit_day() -> date:
    """A weekday at least three days ahead, at the school (so the visit is never in the past)."""
    day = datetime.now(ZoneInfo("Europe/London")).date() + timedelta(days=3)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def fill_plan(page: Page, *, day: date, contact: str) -> None:
    """Fill every field a plan needs to be submitted, with ``contact`` as the responsible contact."""
    page.get_by_label("Pupil (name or school reference)", exact=True).fill("Riley Example")
    page.get_by_label("Address", exact=True).fill("12 Larch Close\nExampleton")
    page.get_by_label("Postcode", exact=True).fill("EX1 2AB")
    reason = page.get_by_label("Reason for the visit", exact=True)
    reason.select_option(index=1)  # the first reason the policy lists
    page.get_by_label("What the visit is for", exact=True).fill("Talk through the week's absences and agree a plan.")
    page.get_by_label("Date", exact=True).fill(day.isoformat())
    page.get_by_label("Start time", exact=True).fill("10:00")
    page.get_by_label("Expected back at", exact=True).fill("11:00")
    page.get_by_label("Second member of staff", exact=True).select_option(label="Jo Jones")
    page.get_by_label("Responsible contact", exact=True).select_option(label=contact)
    page.get_by_label("Their phone number", exact=True).fill("01632 960000")
    page.get_by_role("group", name="Has the family agreed to the visit?").get_by_label("Yes", exact=True).check()
    page.get_by_label("How the appointment was made", exact=True).select_option(label="By phone")
    page.get_by_label("How you are travelling", exact=True).select_option(value="car")
    page.get_by_role("group", name="Alternatives considered").get_by_role("checkbox").first.check()
    checklist = page.get_by_role("group", name="Before-visit checklist").get_by_role("checkbox")
    assert checklist.count() > 0, "the before-visit checklist has no items"
    for box in checklist.all():
        box.check()


def test_plan_submit_fix_authorise(start_portal, new_page) -> None:
    portal = start_portal(seed=False)
    day = visit_day()

    # --- Sam logs in and opens "Plan a visit".
    sam = new_page(portal)
    sam.goto("/login")
    expect(sam.get_by_role("heading", name="Log in")).to_be_visible()
    assert_no_axe_violations(sam, what="the login page")
    login(sam, "sam")
    sam.get_by_role("link", name="Home visits").first.click()
    expect(sam.get_by_role("heading", name="My visits")).to_be_visible()
    expect(sam.get_by_text("No visits yet.")).to_be_visible()
    assert_no_axe_violations(sam, what="my visits (empty)")

    sam.get_by_role("navigation", name="Home visits").get_by_role("link", name="Plan a visit").click()
    expect(sam.get_by_role("heading", name="Plan a home visit")).to_be_visible()  # the task list
    sam.goto("/home-visits/new")  # every question on one page (the parts' pages: test_plan_parts.py)
    expect(sam.get_by_role("heading", name="Plan a home visit")).to_be_visible()
    assert_no_axe_violations(sam, what="the empty plan form")

    # --- The whole form, but the responsible contact is Jo, who is also going on the visit.
    fill_plan(sam, day=day, contact="Jo Jones")
    sam.get_by_role("button", name="Continue").click()

    summary = sam.get_by_role("alert")
    expect(summary).to_contain_text("There is a problem with this plan")
    expect(summary.get_by_role("link", name=CONTACT_MESSAGE)).to_have_attribute("href", "#contact_id")

    contact = sam.get_by_label("Responsible contact", exact=True)
    expect(contact).to_have_attribute("aria-invalid", "true")
    expect(contact).to_have_attribute("aria-describedby", re.compile(r"(^|\s)contact_id-error(\s|$)"))
    expect(sam.locator("#contact_id-error")).to_have_text(CONTACT_MESSAGE)
    # The message is what a screen reader announces for the field.
    expect(contact).to_have_accessible_description(re.compile(re.escape(CONTACT_MESSAGE)))
    # Only that field is wrong, and everything Sam typed is still there.
    expect(sam.locator(".hv-error")).to_have_count(1)
    expect(sam.get_by_label("Date", exact=True)).to_have_value(day.isoformat())
    expect(sam.get_by_label("Start time", exact=True)).to_have_value("10:00")
    expect(sam.get_by_label("Second member of staff", exact=True)).to_have_value("jo")
    family = sam.get_by_role("group", name="Has the family agreed to the visit?")
    expect(family.get_by_label("Yes", exact=True)).to_be_checked()
    for box in sam.get_by_role("group", name="Before-visit checklist").get_by_role("checkbox").all():
        expect(box).to_be_checked()
    assert_no_axe_violations(sam, what="the plan form with an error")

    # Following the summary's link puts the focus on the field to fix.
    summary.get_by_role("link", name=CONTACT_MESSAGE).click()
    expect(contact).to_be_focused()

    # --- Sam fixes it: the office is the responsible contact. Submitted.
    contact.select_option(label="School Office")
    sam.get_by_role("button", name="Continue").click()
    expect(sam.get_by_role("heading", level=1)).to_have_text("Check your answers before submitting")
    assert_no_axe_violations(sam, what="check your answers")
    sam.get_by_role("button", name="Submit for authorisation").click()
    expect(sam.get_by_role("heading", name="Home visit: Riley Example")).to_be_visible()
    expect(sam.get_by_role("status")).to_contain_text("Submitted for authorisation.")
    expect(sam.locator(".hv-state")).to_have_text("Awaiting authorisation")
    expect(sam.get_by_role("alert")).to_have_count(0)
    when = sam.locator("dt:has-text('When') + dd")
    expect(when).to_have_text(f"{day.strftime('%a %d %b %Y')}, 10:00–11:00")
    expect(sam.locator("dt:has-text('Responsible contact') + dd")).to_contain_text("School Office")
    # Sam cannot authorise his own plan.
    expect(sam.get_by_role("button", name="Authorise")).to_have_count(0)
    assert_no_axe_violations(sam, what="the submitted visit")
    visit_url = sam.url.split("#")[0]

    # --- Alex, in a browser of his own, authorises it from the Approvals queue.
    alex = new_page(portal)
    login(alex, "alex")
    alex.goto("/home-visits/")
    alex.get_by_role("navigation", name="Home visits").get_by_role("link", name="Approvals").click()
    expect(alex.get_by_role("heading", name="Plans awaiting authorisation")).to_be_visible()
    row = alex.get_by_role("row").filter(has_text="Sam Patel + Jo Jones")
    expect(row).to_have_count(1)
    assert_no_axe_violations(alex, what="the approvals queue")
    row.get_by_role("link").click()
    expect(alex).to_have_url(visit_url)
    expect(alex.locator(".hv-state")).to_have_text("Awaiting authorisation")
    assert_no_axe_violations(alex, what="the visit with the decision form")
    alex.get_by_role("button", name="Authorise").click()
    expect(alex.get_by_role("status")).to_contain_text("Plan authorised.")
    expect(alex.locator(".hv-state")).to_have_text("Authorised")
    expect(alex.locator("dt:has-text('Authorised by') + dd")).to_contain_text("Alex Morgan (Headteacher)")
    alex.get_by_role("navigation", name="Home visits").get_by_role("link", name="Approvals").click()
    expect(alex.get_by_text("Nothing is waiting for a decision.")).to_be_visible()

    # --- Sam reloads his page and sees it authorised.
    sam.reload()
    expect(sam.locator(".hv-state")).to_have_text("Authorised")
    expect(sam.locator("dt:has-text('Authorised by') + dd")).to_contain_text("Alex Morgan (Headteacher)")
    expect(sam.locator("ol.hv-audit")).to_contain_text("Awaiting authorisation → Authorised")
    assert_no_axe_violations(sam, what="the authorised visit")
    sam.get_by_role("navigation", name="Home visits").get_by_role("link", name="My visits").click()
    expect(sam.get_by_role("row").filter(has_text="Riley Example")).to_contain_text("Authorised")
    assert_no_axe_violations(sam, what="my visits (one authorised)")
