"""A plan in short pages, in Chromium, as staff meet it on a phone (360 x 740, touch, JavaScript on) and on
a laptop (1280 x 800, JavaScript off): "Plan a home visit" lists the parts; each part's page is at most
two phone screens before typing, no wider than the screen, and has no axe-core violations; Continue saves
the part and goes on; a Change link on "Check your answers" comes back there after one Continue; a draft
left after its first part picks up at the next one. The lists fit a phone too.

One browser context per width, reused for every page; the number of actions a complete plan takes is
printed (the README's walkthrough quotes it)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from home_visits.extension import state
from home_visits.models import Visit
from home_visits.plans.parts import PARTS

from .conftest import assert_no_axe_violations, login
from .test_plan_journey import visit_day

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 360, "height": 740}, "has_touch": True, "is_mobile": True}
WIDE = {"viewport": {"width": 1280, "height": 800}, "java_script_enabled": False}
#: Two phone screens: no part's page may be taller before anything is typed.
TALLEST = 1480
CHECK = "Check your answers before submitting"


class Actions:
    """Counts what a person does: each fill, choice, tick and tap."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, locator: Any, how: str, *args: Any, **kwargs: Any) -> None:
        getattr(locator, how)(*args, **kwargs)
        self.count += 1


def fits(page: Page, what: str) -> None:
    """No sideways scroll: the page is no wider than the viewport."""
    wide = page.evaluate("document.documentElement.scrollWidth")
    width = page.viewport_size["width"]
    assert wide <= width, f"{what} is {wide}px wide at a {width}px screen ({page.url})"


def part_page(page: Page, title: str, *, axe: bool) -> None:
    """A part's page as it opens: its heading, its size, its accessibility."""
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    tall = page.evaluate("document.documentElement.scrollHeight")
    print(f"{title} at {page.viewport_size['width']} wide: {tall}px")
    assert tall <= TALLEST, f"“{title}” is {tall}px tall at {page.viewport_size['width']} wide (at most {TALLEST})"
    fits(page, title)
    expect(page.get_by_role("link", name="Back", exact=True)).to_be_visible()
    if axe:
        assert_no_axe_violations(page, what=f"the part “{title}”")


def answer(page: Page, act: Actions, part_id: str, day: Any) -> None:
    """Answer one part's questions as a member of staff filing a standard plan (two staff, daytime, no risk)."""
    label = page.get_by_label
    if part_id == "pupil":
        act(label("Pupil (name or school reference)", exact=True), "fill", "Riley Example")
        act(label("Address", exact=True), "fill", "12 Larch Close\nExampleton")
        act(label("Postcode", exact=True), "fill", "EX1 2AB")
    elif part_id == "why":
        act(label("Reason for the visit", exact=True), "select_option", index=1)
        act(label("What the visit is for", exact=True), "fill", "Talk through the absences and agree a plan.")
        act(page.get_by_role("group", name="Alternatives considered").get_by_role("checkbox").first, "check")
    elif part_id == "when":
        act(label("Date", exact=True), "fill", day.isoformat())
        act(label("Start time", exact=True), "fill", "10:00")
        act(label("Expected back at", exact=True), "fill", "11:00")
    elif part_id == "who":
        expect(label("If going alone, why")).to_be_visible()  # nobody chosen yet: the question applies
        act(label("Second member of staff", exact=True), "select_option", label="Jo Jones")
        act(label("Responsible contact", exact=True), "select_option", label="School Office")
        act(label("Their phone number", exact=True), "fill", "01632 960000")
    elif part_id == "family":
        expect(label("Language or interpreter needs")).to_have_count(0)  # asked only when help is needed
        expect(label("If unannounced, why")).to_have_count(0)
        act(page.get_by_role("group", name="Has the family agreed to the visit?").get_by_label("Yes", exact=True),
            "check")
        act(label("How the appointment was made", exact=True), "select_option", label="By phone")
    elif part_id == "risk":
        expect(label("Notes on the risks and what you will do about them")).to_have_count(0)  # no risk ticked
        act(label("How you are travelling", exact=True), "select_option", value="car")
    elif part_id == "before":
        boxes = page.locator(".hv-ticks").get_by_role("checkbox")
        expect(page.locator(".hv-ticks")).to_have_count(2)  # split: what is needed, then good practice
        for box in boxes.all():
            act(box, "check")


def file_a_plan(page: Page, day: Any, *, axe: bool) -> tuple[int, int]:
    """From the menu to "Submitted for authorisation", part by part. Returns (visit id, actions)."""
    act = Actions()
    page.goto("/home-visits/")
    act(page.get_by_role("navigation", name="Home visits").get_by_role("link", name="Plan a visit"), "click")
    expect(page.get_by_role("heading", level=1)).to_have_text("Plan a home visit")
    fits(page, "the task list")
    if axe:
        assert_no_axe_violations(page, what="the task list of a new plan")
    expect(page.locator(".hv-task").filter(has_text="Why visit")).to_contain_text("Cannot start yet")
    act(page.get_by_role("link", name="Pupil and address"), "click")
    for part in PARTS:
        part_page(page, part.title, axe=axe)
        answer(page, act, part.id, day)
        act(page.get_by_role("button", name="Continue"), "click")
    expect(page.get_by_role("heading", level=1)).to_have_text("Plan a home visit")  # every part done: the list
    for part in PARTS:
        expect(page.locator(".hv-task").filter(has_text=part.title)).to_contain_text("Completed")
    if axe:
        assert_no_axe_violations(page, what="the task list, every part completed")
    act(page.get_by_role("link", name="Check your answers and submit"), "click")
    expect(page.get_by_role("heading", level=1)).to_have_text(CHECK)
    visit_id = int(re.search(r"/home-visits/(\d+)/check", page.url)[1])
    fits(page, "check your answers")
    act(page.get_by_role("button", name="Submit for authorisation"), "click")
    expect(page.get_by_role("status")).to_contain_text("Submitted for authorisation.")
    return visit_id, act.count


def test_a_plan_through_its_parts_on_a_phone_and_without_javascript(seeded_portal, new_page) -> None:
    portal, day = seeded_portal, visit_day()
    phone = new_page(portal, **PHONE)
    login(phone, "sam")
    first, actions = file_a_plan(phone, day, axe=True)
    print(f"a complete standard plan takes {actions} actions, from the menu to submitted")

    wide = new_page(portal, **WIDE)
    login(wide, "sam")
    second, again = file_a_plan(wide, day, axe=False)
    assert again == actions
    with state(portal.app).sessions() as session:
        filed = {v.id: v for v in session.scalars(select(Visit).where(Visit.id.in_([first, second])))}
    assert [filed[first].state, filed[second].state] == ["submitted", "submitted"]
    assert filed[second].second_staff_id == "jo" and not filed[second].alone_reason, "what does not apply is not kept"

    # Leaving after the first part keeps the draft; opening it again picks up at the next part.
    wide.get_by_role("navigation", name="Home visits").get_by_role("link", name="Plan a visit").click()
    wide.get_by_role("link", name="Pupil and address").click()
    answer(wide, Actions(), "pupil", day)
    wide.get_by_role("button", name="Continue").click()
    expect(wide.get_by_role("heading", level=1)).to_have_text("Why visit")
    wide.goto("/home-visits/")
    wide.get_by_role("link", name=re.compile("Choose a date and finish the plan")).first.click()
    expect(wide.get_by_role("heading", level=1)).to_have_text("Why visit")
    expect(wide.get_by_role("link", name="Back", exact=True)).to_have_attribute("href", re.compile(r"/parts$"))

    # "Change" on "Check your answers" opens the part; one Continue comes back.
    for part in PARTS[1:]:
        answer(wide, Actions(), part.id, day)
        wide.get_by_role("button", name="Continue").click()
    wide.get_by_role("link", name="Check your answers and submit").click()
    expect(wide.get_by_role("heading", level=1)).to_have_text(CHECK)
    wide.get_by_role("link", name="Change when").click()
    expect(wide.get_by_role("heading", level=1)).to_have_text("When")
    wide.get_by_label("Start time", exact=True).fill("10:30")
    wide.get_by_role("button", name="Continue").click()
    expect(wide.get_by_role("heading", level=1)).to_have_text(CHECK)
    expect(wide.locator(".hv-plan-summary")).to_contain_text(f"{day.strftime('%a %d %b %Y')}, 10:30–11:00")


LISTS = {"sam": ["/home-visits/", "/home-visits/calendar/"],
         "alex": ["/home-visits/?scope=all", "/home-visits/approvals", "/home-visits/reports"],
         "office": ["/home-visits/", "/home-visits/dashboard"]}


@pytest.mark.parametrize("user", sorted(LISTS))
def test_the_lists_fit_a_phone(seeded_portal, new_page, user: str) -> None:
    page: Any = new_page(seeded_portal, **PHONE)
    login(page, user)
    for path in LISTS[user]:
        page.goto(path)
        fits(page, f"{path} for {user}")
        header = page.evaluate("Math.max(...[...document.querySelectorAll('body > *')].map(e => e.scrollWidth))")
        assert header <= 360, f"{path} for {user}: the portal's header or page runs to {header}px"
