"""Every page of the plugin, as the people who meet it, has no axe-core violations at 1280 x 800 and at
360 x 740 (``assert_no_axe_violations`` checks both): the lists, the plan form and "Check your answers",
the visit page in each state for staff, an approver and the office, the approvals queue, the decision
with an error, cancelling, the record, the dashboard, reports, the calendar, email settings, the
handbook, and the error pages (403, 404, 405, 409, 413). A page a new route adds without an entry here
fails ``test_every_page_of_the_plugin_is_listed``.

One seeded demo portal for the module; its clock is fixed, and visits in the other states are written
around it (checked out, overdue, back, recorded, sent back, declined, cancelled).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from home_visits.extension import state
from home_visits.models import Visit
from home_visits.records import Action, RecordData
from home_visits.records import service as recording
from home_visits.text import initials
from tests.conftest import Clock

from .conftest import assert_no_axe_violations

pytestmark = pytest.mark.browser

NOW = datetime.now(timezone.utc).replace(second=0, microsecond=0)
#: state -> (start, expected return) around NOW, for the visits the seed has none of.
TIMES = {"due": (20, 80), "checked_out": (-10, 50), "overdue": (-120, -60), "returned": (-180, -120),
         "recorded": (-180, -120)}


#: The state each visit written around NOW is stored in ("due": authorised, and it starts within the hour).
STORED = {"due": "authorised", "checked_out": "checked_out", "overdue": "checked_out", "returned": "returned",
          "recorded": "returned"}


@dataclass(frozen=True)
class World:
    """The module's portal, and a visit led by Sam in each state, by state."""

    app: Any
    ids: dict[str, int]


@pytest.fixture(scope="module")
def world(seeded_portal: Any) -> World:
    """The seed's three visits, and copies of its authorised one in every other state."""
    st = state(seeded_portal.app)
    st.clock = Clock(NOW)
    with st.sessions() as session:
        seeded = {v.state: v for v in session.scalars(select(Visit))}
        found = {name: visit.id for name, visit in seeded.items()}
        model = seeded["authorised"]
        columns = {c.key: getattr(model, c.key) for c in Visit.__table__.columns if c.key not in ("id", "form_token")}

        def copy(name: str, **changes: Any) -> Visit:
            pupil = f"{name.replace('_', ' ').title()} Example"
            visit = Visit(**{**columns, "pupil": pupil, "pupil_initials": initials(pupil), "authorised_by": None,
                             "authorised_at": None, **changes})
            session.add(visit)
            session.flush()
            found[name] = visit.id
            return visit

        copy("ready", state="draft")  # a whole plan, not yet submitted
        copy("stale", state="submitted")
        copy("changes_requested", state="changes_requested", decline_reason="Add a second member of staff.")
        copy("declined", state="declined", decline_reason="Meet the family at school first.")
        copy("cancelled", state="cancelled")
        for name, (start, back) in TIMES.items():
            starts, returns = NOW + timedelta(minutes=start), NOW + timedelta(minutes=back)
            visit = copy(name, state=STORED[name], starts_at=starts, expected_return=returns,
                         authorised_by=model.authorised_by, authorised_at=model.authorised_at,
                         checked_out_at=None if name == "due" else starts,
                         returned_at=returns if STORED[name] == "returned" else None)
        visit = session.get(Visit, found["recorded"])
        lead = st.directory.find(visit.lead_id)
        data = RecordData(outcome="no_answer", actions=[Action("Phone the family", "Sam Patel",
                                                               NOW.date() + timedelta(days=2))])
        record = recording.save(session, visit, data, actor=lead, now=NOW, version=None)
        session.flush()
        assert not recording.submit(session, visit, record, actor=lead, policy=st.policy, now=NOW)
        session.commit()
    return World(seeded_portal.app, found)


def post(page: Page, path: str, fields: dict[str, str]) -> None:
    """Post a form to ``path`` from the page shown (with its CSRF token), as an old tab or a crafted link would."""
    with page.expect_navigation():
        page.evaluate("""([path, fields]) => {
            const form = Object.assign(document.createElement("form"), {method: "post", action: path});
            const token = document.querySelector("input[name=csrf_token]");
            for (const [name, value] of Object.entries({...fields, csrf_token: token ? token.value : ""})) {
                form.append(Object.assign(document.createElement("textarea"), {name, value}));
            }
            document.body.append(form);
            form.submit();
        }""", [path, fields])


@dataclass(frozen=True)
class Shown:
    """One page: who opens it, how (a path with ``{state}`` ids, or a callable), its heading and status."""

    user: str
    path: str | Callable[[Page, World], None]
    heading: str
    status: int = 200
    #: The route a callable opener ends on (a path names its own).
    endpoint: str = ""


def decline_without_reason(page: Page, world: World) -> None:
    page.goto(f"/home-visits/{world.ids['submitted']}")
    page.get_by_role("button", name="Decline").click()
    expect(page.locator("#comment-error")).not_to_be_empty()


def authorise_a_changed_plan(page: Page, world: World) -> None:
    page.goto(f"/home-visits/{world.ids['stale']}")
    with state(world.app).sessions() as session:  # the lead changes the plan while the approver reads it
        visit = session.get(Visit, world.ids["stale"])
        visit.purpose, visit.version = "Changed while the approver read it.", visit.version + 1
        session.commit()
    page.get_by_role("button", name="Authorise").click()
    expect(page.locator("#comment-error")).to_contain_text("The plan changed since you opened it")


def post_to_a_page_that_only_reads(page: Page, _world: World) -> None:
    page.goto("/home-visits/settings")
    post(page, "/home-visits/dashboard", {})


def write_a_locked_record(page: Page, world: World) -> None:
    page.goto("/home-visits/settings")
    post(page, f"/home-visits/{world.ids['recorded']}/record", {"points": "More", "save": "Save draft"})


def send_too_much(page: Page, _world: World) -> None:
    page.goto("/home-visits/settings")
    post(page, "/home-visits/new", {"pupil": "Jamie Smith", "purpose": "x" * (1024 * 1024 + 1)})


VISIT_STATES = {
    "sam": ["draft", "ready", "submitted", "changes_requested", "authorised", "due", "declined", "cancelled",
            "checked_out", "overdue", "returned", "recorded"],
    "alex": ["draft", "submitted", "changes_requested", "authorised", "checked_out", "overdue", "recorded"],
    "office": ["draft", "submitted", "authorised", "checked_out", "overdue", "returned"],
}
PAGES: dict[str, Shown] = {
    "my-visits": Shown("sam", "/home-visits/", "My visits"),
    "my-visits-office": Shown("office", "/home-visits/", "My visits"),
    "all-visits": Shown("alex", "/home-visits/?scope=all", "All visits"),
    "new-plan": Shown("sam", "/home-visits/new", "Plan a home visit"),
    "new-plan-like": Shown("sam", "/home-visits/new?like={authorised}", "Plan a home visit"),
    "edit-plan": Shown("sam", "/home-visits/{ready}/edit", "Edit plan"),
    "new-tasks": Shown("sam", "/home-visits/new/parts", "Plan a home visit"),
    "new-part": Shown("sam", "/home-visits/new/parts/pupil?like={authorised}", "Pupil and address"),
    "tasks": Shown("sam", "/home-visits/{draft}/parts", "Plan a home visit"),
    "part-problems": Shown("sam", "/home-visits/{draft}/parts/when?check=1&back=check", "When"),
    "edit-plan-problems": Shown("sam", "/home-visits/{draft}/edit?check=1", "Edit plan"),
    "check-answers": Shown("sam", "/home-visits/{ready}/check", "Check your answers before submitting"),
    "check-answers-problems": Shown("sam", "/home-visits/{draft}/check", "Check your answers before submitting"),
    "check-answers-sent-back": Shown("sam", "/home-visits/{changes_requested}/check",
                                      "Check your answers before submitting"),
    **{f"visit-{state_}-as-{user}": Shown(user, f"/home-visits/{{{state_}}}", "Home visit: ")
       for user, states in VISIT_STATES.items() for state_ in states},
    "approvals": Shown("alex", "/home-visits/approvals", "Plans awaiting authorisation"),
    "decide-error": Shown("alex", decline_without_reason, "Home visit: Morgan Sample", 400, "decide"),
    "decide-changed-meanwhile": Shown("alex", authorise_a_changed_plan, "Home visit: Stale Example", 409, "decide"),
    "cancel": Shown("sam", "/home-visits/{authorised}/cancel", "Cancel this visit?"),
    "record-form": Shown("sam", "/home-visits/{returned}/record", "Visit record: Returned Example"),
    "record-view": Shown("sam", "/home-visits/{recorded}/record", "Visit record: Recorded Example"),
    "record-view-approver": Shown("alex", "/home-visits/{recorded}/record", "Visit record: Recorded Example"),
    "cpoms-copy": Shown("sam", "/home-visits/{recorded}/record/cpoms", "CPOMS"),
    "visit-card": Shown("sam", "/home-visits/{due}/card", "Home visit card: D.E."),
    "dashboard": Shown("office", "/home-visits/dashboard", "Who is out"),
    "reports": Shown("alex", "/home-visits/reports", "Home visit reports"),
    "subscribe": Shown("sam", "/home-visits/calendar/", "Your visits calendar"),
    "settings": Shown("sam", "/home-visits/settings", "Email settings"),
    "handbook": Shown("sam", "/home-visits/handbook/", "Home visits"),
    "error-403": Shown("sam", "/home-visits/approvals", "Forbidden", 403),
    "error-404": Shown("sam", "/home-visits/99999", "Not Found", 404),
    "error-404-no-page": Shown("sam", "/home-visits/nowhere", "Not Found", 404),
    "error-405": Shown("office", post_to_a_page_that_only_reads, "Method Not Allowed", 405),
    "error-409": Shown("sam", write_a_locked_record, "Conflict", 409, "record"),
    "error-413": Shown("sam", send_too_much, "Request Entity Too Large", 413),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_passes_axe_at_both_widths(page_as: Any, world: World, name: str) -> None:
    shown = PAGES[name]
    page = page_as(shown.user)
    statuses: list[int] = []

    def note(response: Any) -> None:
        if response.request.is_navigation_request() and response.request.frame == page.main_frame:
            statuses.append(response.status)

    page.on("response", note)
    try:
        if callable(shown.path):
            shown.path(page, world)
        else:
            page.goto(shown.path.format(**world.ids))
    finally:
        page.remove_listener("response", note)
    assert statuses and statuses[-1] == shown.status, f"{name}: answered {statuses}, not {shown.status}"
    expect(page.get_by_role("heading", level=1).first).to_contain_text(shown.heading)
    assert_no_axe_violations(page, what=f"{name} ({page.url})")


#: GET routes that are not pages: bytes for another program, or a POST URL answering GET with a redirect
#: to the page its form lives on (tests/test_access_matrix.py checks each redirect).
NOT_PAGES = {"feed": "the calendar feed, for Outlook", "reports_csv": "a CSV file", "static": "CSS and JavaScript",
             **dict.fromkeys(["check_out", "check_in", "extend", "acknowledge", "alert_now", "report_incident",
                              "not_going_ahead", "correct_record", "confirm_record", "action_done"],
                             "a redirect to the visit or the record")}


def test_every_page_of_the_plugin_is_listed(world: World) -> None:
    urls = world.app.url_map.bind("localhost")
    listed = {f"home_visits.{shown.endpoint}" for shown in PAGES.values() if shown.endpoint}
    for shown in PAGES.values():
        if isinstance(shown.path, str) and shown.status < 400:
            endpoint, _ = urls.match(shown.path.format(**world.ids).split("?")[0], method="GET")
            listed.add(endpoint)
    pages = {rule.endpoint for rule in world.app.url_map.iter_rules()
             if rule.endpoint.startswith("home_visits.") and "GET" in (rule.methods or ())}
    missing = sorted(pages - listed - {f"home_visits.{name}" for name in NOT_PAGES})
    assert not missing, f"pages axe never checks: add them to PAGES in {__name__}: {missing}"
