"""Issue 17, the pages as staff meet them: one test per finding, each written to fail on the code
before the fix. Phone checks measure element boxes against a 360 x 740 viewport."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from home_visits.extension import state
from home_visits.models import Alert, Notice, Visit, VisitRecord
from tests.conftest import Clock

from .conftest import assert_no_axe_violations, login

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
WIDE = {"viewport": {"width": 1280, "height": 800}}


def seeded(portal: Any, state_name: str) -> Visit:
    with state(portal.app).sessions() as session:
        return session.scalars(select(Visit).where(Visit.state == state_name)).one()


def reopen(page: Page) -> None:
    """Open the address the browser shows again, as a GET (Enter in the address bar, a restored tab):
    after a failed POST that address is the POST URL."""
    response = page.goto(page.url)
    assert response is not None and response.status < 400, f"{page.url} answered {response and response.status}"


# --------------------------------------------------------------------------- errors: POST-redirect-GET


def test_reopening_a_failed_post_leads_back_to_its_form(start_portal, new_page) -> None:
    portal = start_portal(seed=True)
    submitted, authorised = seeded(portal, "submitted"), seeded(portal, "authorised")
    alex = new_page(portal, **WIDE)
    login(alex, "alex")
    alex.goto(f"/home-visits/{submitted.id}")
    alex.get_by_role("button", name="Decline").click()  # no reason: an error on the decide URL
    expect(alex).to_have_url(re.compile(r"/decide$"))
    expect(alex.locator("#comment-error")).not_to_be_empty()
    reopen(alex)
    expect(alex.get_by_role("heading", level=1)).to_have_text("Home visit: Morgan Sample")
    expect(alex.get_by_role("button", name="Authorise")).to_be_visible()
    assert_no_axe_violations(alex, what="the visit after reopening a failed decision")

    state(portal.app).clock = Clock(authorised.starts_at - timedelta(minutes=2))
    sam = new_page(portal, **PHONE)
    login(sam, "sam")
    sam.goto(f"/home-visits/{authorised.id}")
    sam.get_by_role("button", name="Check out: visit starting").tap()
    expect(sam.get_by_role("heading", name="You are out on this visit")).to_be_visible()
    sam.get_by_role("button", name="Extend").tap()  # no time, no reason
    expect(sam).to_have_url(re.compile(r"/extend$"))
    expect(sam.locator("#until-error")).not_to_be_empty()
    reopen(sam)
    expect(sam.get_by_role("heading", name="You are out on this visit")).to_be_visible()
    for action in ("check-out", "check-in", "acknowledge", "alert", "incident", "not-going-ahead", "record/correct",
                   "record/confirm"):
        response = sam.request.get(f"/home-visits/{authorised.id}/{action}", max_redirects=0)
        assert response.status in (302, 303), f"GET {action} answered {response.status}"
        assert response.headers["location"].endswith((f"/home-visits/{authorised.id}",
                                                      f"/home-visits/{authorised.id}/record")), response.headers


# --------------------------------------------------------------------------- cancelling, and sending back


def test_cancelling_asks_first_and_a_plan_can_be_sent_back_for_changes(start_portal, new_page) -> None:
    portal = start_portal(seed=True)
    draft, submitted = seeded(portal, "draft"), seeded(portal, "submitted")
    sam = new_page(portal, **WIDE)
    login(sam, "sam")
    sam.goto(f"/home-visits/{draft.id}")
    sam.get_by_role("link", name="Cancel this visit").click()
    expect(sam.get_by_role("heading", level=1)).to_have_text("Cancel this visit?")
    expect(sam.get_by_text("Visit " + str(draft.id) + ": Casey Demo")).to_be_visible()
    assert_no_axe_violations(sam, what="the confirm-cancel page")
    sam.get_by_role("link", name="No, keep the visit").click()
    expect(sam.locator(".hv-state")).to_have_text("Draft")  # nothing happened
    sam.get_by_role("link", name="Cancel this visit").click()
    sam.get_by_label("Why it is cancelled", exact=False).fill("The family moved away")
    sam.get_by_role("button", name="Yes, cancel this visit").click()
    expect(sam.locator(".hv-state")).to_have_text("Cancelled")
    expect(sam.get_by_role("list").filter(has_text="The family moved away")).to_be_visible()

    alex = new_page(portal, **WIDE)
    login(alex, "alex")
    alex.goto(f"/home-visits/{submitted.id}")
    alex.get_by_role("button", name="Send back for changes").click()  # no reason yet
    expect(alex.locator("#comment-error")).to_contain_text("Say what needs changing")
    assert_no_axe_violations(alex, what="sending back without a reason")
    alex.get_by_label("Reason", exact=False).fill("Add a second member of staff: the risk assessment says two.")
    alex.get_by_role("button", name="Send back for changes").click()
    expect(alex.get_by_role("status")).to_contain_text("sent back for changes")
    expect(alex.locator(".hv-state")).to_have_text("Sent back for changes")
    with state(portal.app).sessions() as session:
        mail = session.scalars(select(Notice).where(Notice.visit_id == submitted.id)).all()
    assert any("sent back for changes" in m.subject and "Add a second member" in m.text for m in mail), mail

    sam.goto(f"/home-visits/{submitted.id}")
    expect(sam.locator(".hv-callout")).to_contain_text("Sent back for changes. Add a second member of staff")
    assert_no_axe_violations(sam, what="a plan sent back, as its lead")
    sam.get_by_role("link", name="Edit and submit").click()  # a plan sent back opens at "Check your answers"
    expect(sam.get_by_role("heading", level=1)).to_have_text("Check your answers before submitting")
    expect(sam.get_by_text("Sent back for changes: Add a second member")).to_be_visible()
    expect(sam.get_by_role("link", name="Change who goes, and who knows")).to_be_visible()


# --------------------------------------------------------------------------- the doorstep and the office


def on_screen(page: Page, locator: Any, width: int = 360, height: int = 740) -> None:
    """The element is whole on the first screen of the viewport, at least 24 px tall (a target a thumb hits)."""
    page.evaluate("window.scrollTo(0, 0)")
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not shown"
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"{locator} is off the side: {box}"
    assert box["y"] >= 0 and box["y"] + box["height"] <= height, f"{locator} is below the first screen: {box}"
    assert box["height"] >= 24, f"{locator} is too small to tap: {box}"


def out_on_a_visit(portal: Any) -> tuple[Visit, Clock]:
    visit = seeded(portal, "authorised")
    clock = Clock(visit.starts_at + timedelta(minutes=5))
    state(portal.app).clock = clock
    with state(portal.app).sessions() as session:
        row = session.get(Visit, visit.id)
        row.state, row.checked_out_at = "checked_out", visit.starts_at
        session.commit()
    return visit, clock


def test_on_the_doorstep_the_contacts_phone_is_a_link_to_tap(start_portal, new_page) -> None:
    portal = start_portal(seed=True)
    visit, _ = out_on_a_visit(portal)
    sam = new_page(portal, **PHONE)
    login(sam, "sam")
    sam.goto(f"/home-visits/{visit.id}")
    ring = sam.get_by_role("region", name="You are out on this visit").get_by_role("link", name="01632 960000")
    expect(ring).to_have_attribute("href", "tel:01632960000")
    on_screen(sam, ring)
    for link in sam.locator("main").get_by_text("01632 960000").all():  # every place the number shows
        expect(link).to_have_attribute("href", "tel:01632960000")
    assert_no_axe_violations(sam, what="the visit while out, on a phone, with the contact's number")


def test_the_office_sees_who_is_out_not_the_staff_screen(start_portal, new_page) -> None:
    portal = start_portal(seed=True)
    visit, _ = out_on_a_visit(portal)
    office = new_page(portal, **PHONE)
    login(office, "office")
    office.goto(f"/home-visits/{visit.id}")
    expect(office.get_by_role("heading", name="Sam Patel and Jo Jones are out on this visit")).to_be_visible()
    on_screen(office, office.get_by_role("link", name="07700 900101"))
    expect(office.get_by_role("button", name="Extend")).to_have_count(0)  # the staff's own words
    expect(office.get_by_role("button", name="I'm back safe")).to_have_count(0)
    expect(office.get_by_role("heading", name="Running late?")).to_have_count(0)
    office.get_by_text("They rang to say they will be later").click()
    expect(office.get_by_label("New time they expect to be back")).to_be_visible()
    assert_no_axe_violations(office, what="the office's view of a visit that is out, on a phone")


def test_overdue_cards_say_which_visit_how_late_and_what_became_of_the_alerts(start_portal, new_page) -> None:
    portal = start_portal(seed=True)
    visit, clock = out_on_a_visit(portal)
    clock.now = visit.expected_return + timedelta(minutes=15)  # just at the end of the grace
    with state(portal.app).sessions() as session:
        session.add(Alert(visit_id=visit.id, key="tier-0", notify=["responsible_contact", "office"],
                          due_at=clock.now, status="failed", attempts=1,
                          last_error="ConnectionRefusedError: [Errno 111] Connection refused"))
        session.commit()
    for options in (WIDE, PHONE):
        office = new_page(portal, **options)
        login(office, "office")
        office.goto("/home-visits/dashboard")
        card = office.get_by_role("article").filter(has_text="past the expected return")
        expect(card.get_by_role("heading")).to_have_text(
            f"Visit {visit.id} (R.E.): Sam Patel, 15 minutes past the expected return")
        expect(card).to_contain_text(
            "First alert to the office and the responsible contact: not sent yet — the mail server did not answer "
            "(tried 1 time); retrying every 5 minutes. Phone them.")
        expect(card).not_to_contain_text("tier-0")
        expect(card).not_to_contain_text("Errno")
        expect(card.get_by_role("link", name="01632 960000")).to_have_attribute("href", "tel:01632960000")
        assert_no_axe_violations(office, what=f"the dashboard with a failed alert at {options['viewport']['width']}")


# --------------------------------------------------------------------------- my visits


def add_visit(portal: Any, like: Visit, pupil: str, days: int) -> int:
    """A copy of a seeded visit for another pupil, ``days`` from the seeded one (negative: before)."""
    with state(portal.app).sessions() as session:
        columns = {c.key: getattr(session.get(Visit, like.id), c.key) for c in Visit.__table__.columns
                   if c.key not in ("id", "form_token")}
        copy = Visit(**{**columns, "pupil": pupil, "starts_at": like.starts_at + timedelta(days=days),
                        "expected_return": like.expected_return + timedelta(days=days)})
        session.add(copy)
        session.commit()
        return copy.id


def test_my_visits_reads_soonest_first_with_the_visit_as_the_link(start_portal, new_page) -> None:
    portal = start_portal(seed=True)
    authorised, draft = seeded(portal, "authorised"), seeded(portal, "draft")
    far = add_visit(portal, authorised, "Far Future", 300)
    past = add_visit(portal, authorised, "Long Ago", -40)
    sam = new_page(portal, **WIDE)
    login(sam, "sam")
    sam.goto("/home-visits/")
    links = sam.get_by_role("table").get_by_role("link", name=re.compile(r"^Visit \d+: "))
    expect(links).to_have_text([f"Visit {draft.id}: Casey Demo", f"Visit {authorised.id}: Riley Example",
                                re.compile("Morgan Sample"), f"Visit {far}: Far Future", f"Visit {past}: Long Ago"])
    for group in ("No date yet", "Coming up", "Earlier visits"):
        expect(sam.get_by_role("rowheader", name=group)).to_be_visible()
    sam.get_by_role("link", name="Choose a date and finish the plan").click()  # at the first part not done
    expect(sam.get_by_role("heading", level=1)).to_have_text(re.compile("^(When|Who goes, and who knows|The family|"
                                                                        "Risk assessment|Before you go|Why visit)$"))
    expect(sam.get_by_role("link", name="Back", exact=True)).to_be_visible()
    sam.goto("/home-visits/")
    assert_no_axe_violations(sam, what="my visits in their new order")
    sam.get_by_role("link", name=f"Visit {draft.id}: Casey Demo").click()
    expect(sam.get_by_role("heading", name="Decision")).to_have_count(0)  # staff cannot decide
    expect(sam.get_by_label(re.compile("Comment|Reason"))).to_have_count(0)


# --------------------------------------------------------------------------- reports


def test_reports_offer_terms_and_say_states_in_words(start_portal, new_page) -> None:
    portal = start_portal(seed=True)
    today = datetime.now(ZoneInfo("Europe/London")).date()
    # autumn 1 Sep-31 Dec, spring to 31 Mar, summer to 31 Aug
    first = today.year if today.month >= 9 else today.year - 1
    term = next((label, start, end) for label, start, end in (
        (f"Autumn term {first}", date(first, 9, 1), date(first, 12, 31)),
        (f"Spring term {first + 1}", date(first + 1, 1, 1), date(first + 1, 3, 31)),
        (f"Summer term {first + 1}", date(first + 1, 4, 1), date(first + 1, 8, 31)),
    ) if start <= today + timedelta(days=3) <= end)  # the seeded visits are in the next three days
    for options in (WIDE, PHONE):
        alex = new_page(portal, **options)
        login(alex, "alex")
        alex.goto("/home-visits/reports")
        alex.get_by_role("link", name=term[0]).click()
        expect(alex.get_by_label("From")).to_have_value(term[1].isoformat())
        expect(alex.get_by_label("To (inclusive)")).to_have_value(term[2].isoformat())
        expect(alex.get_by_role("link", name=term[0])).to_have_attribute("aria-current", "page")
        states = alex.get_by_role("table").filter(has_text="Status now")
        expect(states).to_contain_text("Awaiting authorisation")
        expect(states).to_contain_text("Authorised")
        expect(states).not_to_contain_text("submitted")
        csv = alex.request.get(alex.get_by_role("link", name="Download as CSV").get_attribute("href")).text()
        assert "Awaiting authorisation" in csv and ",submitted," not in csv, csv
        expect(alex.get_by_role("link", name=f"School year {first}–{str(first + 1)[-2:]}")).to_be_visible()
        assert_no_axe_violations(alex, what=f"the report for a term at {options['viewport']['width']}")


# --------------------------------------------------------------------------- the plan form


def test_the_checklist_marks_what_is_needed_and_a_failed_first_submit_stays_new(start_portal, new_page) -> None:
    portal = start_portal(seed=False)
    policy = state(portal.app).policy
    needed = [item.title for item in policy.guidance.before.items if item.required]
    optional = [item.title for item in policy.guidance.before.items if not item.required]
    assert needed and optional, "the default policy has required and optional checklist lines"
    sam = new_page(portal, **WIDE)
    login(sam, "sam")
    sam.goto("/home-visits/new")
    checklist = sam.get_by_role("group", name="Before-visit checklist")
    for title in needed:
        expect(checklist.get_by_label(title, exact=False)).to_have_accessible_name(f"{title} (needed to submit)")
    expect(checklist.get_by_label(optional[0], exact=True)).to_be_visible()
    sam.get_by_label("Pupil (name or school reference)").fill("Jamie Smith")
    sam.get_by_role("button", name="Continue").click()
    expect(sam.get_by_role("alert").first).to_contain_text("There is a problem with this plan")
    expect(sam.get_by_role("heading", level=1)).to_have_text("Plan a home visit")
    expect(sam).to_have_title(re.compile("Plan a home visit"))
    with state(portal.app).sessions() as session:
        assert session.scalars(select(Visit)).all() == []  # nothing half-saved
    assert_no_axe_violations(sam, what="the new plan form after a failed first submit")


# --------------------------------------------------------------------------- growable rows


def returned_visit(portal: Any) -> Visit:
    visit = seeded(portal, "authorised")
    state(portal.app).clock = Clock(visit.expected_return + timedelta(minutes=30))
    with state(portal.app).sessions() as session:
        row = session.get(Visit, visit.id)
        row.state, row.checked_out_at, row.returned_at = "returned", visit.starts_at, visit.expected_return
        session.commit()
    return visit


def test_record_rows_grow_without_javascript_and_nothing_is_saved(start_portal, new_page) -> None:
    portal = start_portal(seed=True)
    visit = returned_visit(portal)
    sam = new_page(portal, java_script_enabled=False, **WIDE)
    login(sam, "sam")
    sam.goto(f"/home-visits/{visit.id}/record")
    height = sam.evaluate("document.documentElement.scrollHeight")
    print(f"record form at 1280 wide: {height}px")
    assert height < 3300, f"the record form is {height}px tall at 1280 wide"
    expect(sam.get_by_label(re.compile(r"^Person \d+: name$"))).to_have_count(1)
    sam.get_by_label("Person 1: name").fill("Ms R Example")
    for group, label, button in (("present", r"^Person \d+: name$", "Add another person"),
                                 ("observations", r"^Observation \d+$", "Add another observation"),
                                 ("actions", r"^Action \d+$", "Add another action")):
        sam.get_by_role("button", name=button).click()
        sam.get_by_role("button", name=button).click()
        expect(sam.get_by_label(re.compile(label))).to_have_count(3)
        expect(sam).to_have_url(re.compile(f"#{group}$"))  # back at the rows just added
    expect(sam.get_by_label("Person 1: name")).to_have_value("Ms R Example")  # what was typed stays
    expect(sam.locator("textarea#observations-0-text")).to_have_count(1)  # room to write, not a one-line box
    with state(portal.app).sessions() as session:
        assert session.scalars(select(VisitRecord)).all() == []  # nothing saved by adding rows
    sam.get_by_role("button", name="Save draft").click()
    expect(sam.get_by_role("status")).to_be_visible()
    with state(portal.app).sessions() as session:
        record = session.scalars(select(VisitRecord)).one()
        assert "Ms R Example" in str(record.present)
    checked = new_page(portal, **WIDE)  # axe needs JavaScript
    login(checked, "sam")
    checked.goto(f"/home-visits/{visit.id}/record")
    checked.get_by_role("button", name="Add another action").click()
    expect(checked.get_by_label(re.compile(r"^Action \d+$"))).to_have_count(2)
    assert_no_axe_violations(checked, what="the record form with an added row")


# --------------------------------------------------------------------------- the family's copy


def test_the_subject_access_copy_reads_as_a_document(start_portal, new_page, tmp_path) -> None:
    portal = start_portal(seed=True)
    result = portal.app.test_cli_runner().invoke(args=["home-visits", "export", "--pupil", "riley example",
                                                       "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    page = new_page(portal, **WIDE)
    page.set_content((tmp_path / "home-visits-riley-example.html").read_text())
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"holds about Riley Example$"))
    expect(page.get_by_role("heading", level=2).first).to_have_text(re.compile(r"^Home visit on \w+day "))
    expect(page.locator("main")).not_to_contain_text("home_visits_")
    expect(page.locator("main")).not_to_contain_text("_id")
    assert_no_axe_violations(page, what="the family's subject-access copy")


def test_the_plan_forms_first_screen_says_what_it_is_for_and_how_long_it_takes(start_portal, new_page) -> None:
    portal = start_portal(seed=False)
    for options, width, height in ((WIDE, 1280, 800), (PHONE, 360, 740)):
        sam = new_page(portal, **options)
        login(sam, "sam")
        sam.goto("/home-visits/new")
        purpose = sam.get_by_text("It takes about 10 minutes", exact=False)
        expect(purpose).to_contain_text("tells a senior leader where you are going")
        if width == 1280:
            on_screen(sam, purpose, width, height)
            on_screen(sam, sam.get_by_role("link", name="Risk assessment"), width, height)
        sam.get_by_role("link", name="Before you go").click()
        expect(sam.get_by_role("group", name="Before-visit checklist")).to_be_in_viewport()
        print(f"plan form at {width} wide: {sam.evaluate('document.documentElement.scrollHeight')}px")
        assert_no_axe_violations(sam, what=f"the plan form at {width}")
