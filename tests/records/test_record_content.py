"""A record is read only by those who may: a marker planted in every field of a visit record (its actions,
corrections, confirmation and incident too) is looked for on every page, as every role. It may appear only
where :func:`home_visits.plans.workflow.reads_record` allows; everyone else sees at most that something exists.

:data:`CONTENT` is the route x role matrix's content dimension: for each page and role, which record fields
may appear.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from home_visits.extension import state
from home_visits.models import RecordAction, Visit
from home_visits.plans import service as services
from home_visits.records import Action, RecordData
from home_visits.records import service as recording

from ..conftest import USERS, User, make_app, valid_plan

LEE = User("lee", "Lee Grant", "lee@school.example", "07700 900006", ("staff",))
#: Who plays each part: the lead, the second, the responsible contact, a colleague on none of it, an
#: approver not on the visit, the office.
ROLES = {"lead": "sam", "second": "jo", "contact": "kim", "colleague": "lee", "approver": "blair", "office": "pat"}
#: Everyone the record rule lets read the record (the author alone reads their private reflection).
READERS = {"lead", "second", "approver"}

ADDRESS = "9 Hazel Row, Exampleton"
START = datetime(2026, 3, 4, 10, 0, tzinfo=timezone.utc)

#: Record field -> the marker planted in it.
MARKERS = {name: f"MARK{name.upper().replace('_', '')}X" for name in (
    "points", "child_voice", "parents_views", "agreements", "concerns", "observation", "present_name",
    "present_relationship", "safeguarding_where", "incident_details", "reflection", "action_what",
    "action_owner", "done_action_what", "correction_text", "correction_reason", "confirmation",
)}
#: Incident kinds are choices, not free text: what a page must not say to someone who may not read them.
INCIDENT_WORDS = ("Threats or verbal abuse", "“threats”")
EVERY = frozenset(MARKERS)
RECORD_FIELDS = EVERY - {"reflection"}
#: Fields that show outside the record itself to readers: open actions, history lines.
OUTSIDE = frozenset({"action_what", "action_owner", "done_action_what", "correction_reason", "confirmation"})


ACTIONS = frozenset({"action_what", "action_owner"})
#: page -> role -> the record fields that may appear there (a role not named: none). Pages not named show
#: no record field to anyone.
CONTENT: dict[str, dict[str, frozenset[str]]] = {
    "record": {"lead": EVERY, "second": RECORD_FIELDS, "approver": RECORD_FIELDS},
    "cpoms": {role: RECORD_FIELDS - {"confirmation"} for role in READERS},
    # Its history: which action was done, why a correction was made, the confirmation's comment.
    "visit": {role: frozenset({"done_action_what", "correction_reason", "confirmation"}) for role in READERS},
    # Open actions from earlier visits to the same family, to whoever reads that record and sees this page.
    "later_visit": {"second": ACTIONS, "approver": ACTIONS},
    "like": {"lead": ACTIONS, "second": ACTIONS},
    "my_visits": {"lead": ACTIONS},
    "all_visits": {"lead": ACTIONS},
}


def content(page: str, role: str) -> frozenset[str]:
    """The content dimension of the route x role matrix: which record fields ``role`` may see on ``page``."""
    allowed = CONTENT.get(page, {}).get(role, frozenset())
    assert role in READERS or not allowed, f"{page}: {role} is not a record reader"
    return allowed


def _plant(app: Flask) -> tuple[int, int]:
    """The recorded visit with every marker planted, and a later draft (by the colleague) to the same address."""
    st = state(app)
    person = lambda user_id: st.directory.person(USERS[user_id])  # noqa: E731
    st.clock.now = START - timedelta(days=2)  # type: ignore[attr-defined]
    sam = person("sam")
    with st.sessions() as session:
        visit = services.create_visit(session, valid_plan(address=ADDRESS, contact_id="kim", starts_at=START,
                                                          expected_return=START + timedelta(hours=1)),
                                      actor=sam, now=st.clock())
        session.flush()
        assert not services.submit(session, visit, actor=sam, policy=st.policy, now=st.clock())
        services.decide(session, visit, "authorise", actor=person("blair"), policy=st.policy, now=st.clock())
        services.decide(session, visit, "check_out", actor=sam, policy=st.policy, now=START)
        services.decide(session, visit, "check_in", actor=sam, policy=st.policy, now=START + timedelta(hours=1))
        now = START + timedelta(hours=2)
        m = MARKERS
        data = RecordData(
            outcome="took_place", setting="inside", started_at=START + timedelta(minutes=5),
            ended_at=START + timedelta(minutes=50),
            present=[{"name": m["present_name"], "relationship": m["present_relationship"], "agreed": True}],
            points=m["points"], child_voice=m["child_voice"], parents_views=m["parents_views"],
            agreements=m["agreements"], concerns=m["concerns"],
            observations=[{"kind": "fact", "text": m["observation"]}], safeguarding="raised",
            safeguarding_where=m["safeguarding_where"], incident_kinds=["threats"],
            incident_details=m["incident_details"], reflection=m["reflection"],
            actions=[Action(m["action_what"], m["action_owner"], date(2026, 3, 20)),
                     Action(m["done_action_what"], "Parent", date(2026, 3, 21))],
        )
        record = recording.save(session, visit, data, actor=sam, now=now, version=None)
        session.flush()
        assert not recording.submit(session, visit, record, actor=sam, policy=st.policy, now=now)
        recording.correct(session, visit, record, actor=sam, policy=st.policy, now=now, field="points",
                          text=m["correction_text"], reason=m["correction_reason"])
        recording.confirm(session, visit, record, actor=person("jo"), now=now, comment=m["confirmation"])
        done = next(a for a in record.actions if a.what == m["done_action_what"])
        recording.mark_done(session, done, visit, actor=sam, now=now)
        later = services.create_visit(session, valid_plan(lead_id="lee", address=ADDRESS, second_staff_id="jo"),
                                      actor=person("lee"), now=now)
        session.commit()
        return visit.id, later.id


#: page -> the path, given the recorded visit's id and the later draft's id.
PAGES: dict[str, Callable[[int, int], str]] = {
    "visit": lambda v, _: f"/home-visits/{v}",
    "record": lambda v, _: f"/home-visits/{v}/record",
    "cpoms": lambda v, _: f"/home-visits/{v}/record/cpoms",
    "cpoms_text": lambda v, _: f"/home-visits/{v}/record/cpoms?format=txt",
    "like": lambda v, _: f"/home-visits/new?like={v}",
    "later_visit": lambda _, later: f"/home-visits/{later}",
    "my_visits": lambda _v, _l: "/home-visits/",
    "all_visits": lambda _v, _l: "/home-visits/?scope=all",
    "card": lambda v, _: f"/home-visits/{v}/card",
    "dashboard": lambda _v, _l: "/home-visits/dashboard",
    "approvals": lambda _v, _l: "/home-visits/approvals",
    "reports": lambda _v, _l: "/home-visits/reports?start=2026-03-01&end=2026-03-31",
    "reports_csv": lambda _v, _l: "/home-visits/reports.csv?start=2026-03-01&end=2026-03-31&names=y",
    "edit_later": lambda _, later: f"/home-visits/{later}/edit",
    "subscribe": lambda _v, _l: "/home-visits/calendar/",
}


@pytest.fixture
def planted(tmp_path: Path) -> Any:
    app = make_app(tmp_path / "instance")
    USERS["lee"] = LEE
    try:
        ids = _plant(app)
        yield app, ids
    finally:
        USERS.pop("lee", None)
        state(app).engine.dispose()


def client_for(app: Flask, user_id: str) -> FlaskClient:
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user_id
    return client


def test_every_record_marker_appears_only_where_the_record_rule_allows(planted: Any) -> None:
    app, (visit_id, later_id) = planted
    leaks, missing = [], []
    for page, path in PAGES.items():
        for role, user_id in ROLES.items():
            body = client_for(app, user_id).get(path(visit_id, later_id)).get_data(as_text=True)
            allowed = content(page.removesuffix("_text"), role)
            for name, marker in MARKERS.items():
                if marker in body and name not in allowed:
                    leaks.append(f"{page} as {role}: {name}")
                if name in allowed and marker not in body:
                    missing.append(f"{page} as {role}: {name}")
            if role not in READERS and any(word in body for word in INCIDENT_WORDS):
                leaks.append(f"{page} as {role}: incident kind")
    assert not leaks, "record content shown to someone the record rule does not allow:\n" + "\n".join(leaks)
    assert not missing, "record content the rule allows is missing (is the marker planted?):\n" + "\n".join(missing)


def test_others_see_that_an_action_is_open_and_whom_to_ask(planted: Any) -> None:
    app, (visit_id, later_id) = planted
    page = client_for(app, "lee").get(f"/home-visits/{later_id}").get_data(as_text=True)
    assert "An action from an earlier visit to this family is still open" in page
    assert "ask Sam Patel" in page


def test_the_office_sees_that_the_record_changed_but_not_how(planted: Any) -> None:
    app, (visit_id, _) = planted
    page = client_for(app, "pat").get(f"/home-visits/{visit_id}").get_data(as_text=True)
    assert "corrected the record" in page and "reported an incident" in page and "marked an action done" in page
    assert MARKERS["correction_reason"] not in page


def test_the_colleague_cannot_reach_the_record(planted: Any) -> None:
    app, (visit_id, _) = planted
    assert client_for(app, "lee").get(f"/home-visits/{visit_id}/record").status_code == 404
    assert client_for(app, "pat").get(f"/home-visits/{visit_id}/record").status_code == 403
    with state(app).sessions() as session:
        assert session.query(RecordAction).count() == 2 and session.get(Visit, visit_id).incident
