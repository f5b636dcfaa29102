"""Hostile input, generated with hypothesis, over every form field, query parameter and URL segment the
plugin takes: CR/LF, NUL and other control characters, HTML and script, right-to-left and combining
Unicode, emoji, very long strings, malformed dates, times and ids, and 10 MB bodies.

What must hold for every input: no 500 (no exception escapes a view); every refusal is a 4xx with a
message; what was saved renders escaped in the portal (no tag, attribute or script the templates did
not write), stays one calendar event with its text intact, and cannot add a header to an alert email.

10,000 inputs in CI (``HYPOTHESIS_PROFILE=ci`` or ``CI=true``), a few hundred by default; the split is
:data:`SHARES`. Everything goes through the Flask test client: no server, no network.
"""

from __future__ import annotations

import csv as csv_module
import email
import email.policy
import html
import io
import itertools
import math
import re
from collections.abc import Iterator
from datetime import date, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from icalendar import Calendar
from markupsafe import escape
from sqlalchemy import func, select, update

from home_visits.calendar import ical as calendar
from home_visits.calendar import service as feeds
from home_visits.extension import state
from home_visits.mail import smtp as mail
from home_visits.models import Alert, RecordAction, Visit, VisitRecord
from home_visits.plans import service as services
from home_visits.records import Action, RecordData
from home_visits.records import service as recording
from home_visits.safety import sweep as escalation

from .conftest import HOSTILE_EXAMPLES, USERS, Inbox, form_data, free_port, make_app, valid_plan

#: Each test's share of :data:`HOSTILE_EXAMPLES` (they add up to 1).
SHARES = {
    "plan_form": 0.20,
    "edit_form": 0.05,
    "decision": 0.05,
    "extend": 0.04,
    "record_form": 0.08,
    "correction": 0.04,
    "action_next": 0.03,
    "query": 0.20,
    "segment": 0.20,
    "stored": 0.11,
}
assert math.isclose(sum(SHARES.values()), 1.0)


def budget(name: str) -> settings:
    return settings(max_examples=max(20, math.ceil(HOSTILE_EXAMPLES * SHARES[name])),
                    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


# --------------------------------------------------------------------------- what hostile input looks like

NASTY = [
    "\r\n", "\n", "\r", "\x00", "\x07", "\x1b[31m", "\x7f", "\t", "\u2028", "\u2029", "\x85",
    "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "'><svg/onload=alert(1)>", "</textarea><b>",
    "<!--", "]]>", "&amp;", "&#x3C;", "{{ 7*7 }}", "{% raw %}", "${7*7}", "%s%s%n", "javascript:alert(1)",
    "\u202e", "\u202d", "\u2066", "\u2069", "\x9b", "\u200f", "\u200b", "\ufeff", "e\u0301\u0301\u0301",
    "\u0301" * 40, "Z\u0351\u0352\u0353",
    "😀", "👨‍👩‍👧‍👦", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "\U0010ffff", "ﷺ", "𒐫", "ǅ", "İ", "ß",
    "²", "¹²³", "①", "١٢٣", "０", "Ⅻ", "-1", "0", "99999999999999999999", "1e9", "0x1f", "NaN",
    "BEGIN:VEVENT", "\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\nEND:VEVENT", "\nBcc: victim@example.com", "=HYPERLINK(\"x\")",
    "@SUM(1)", "+1", "../../etc/passwd", "..\\..\\boot.ini", "%00", "%0d%0a", "%", "%zz", "/\\evil.example",
    "//evil.example", "\\\\evil", " ", "   ", "",
]
_PIECE = st.one_of(
    st.sampled_from(NASTY),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
    st.text(st.characters(codec="ascii"), max_size=20),
)
#: Very long strings: over every field's limit, and over the form parser's 500 kB per field.
LONG = st.builds(lambda piece, size: (piece or "x") * (size // max(1, len(piece or "x")) + 1),
                 st.sampled_from(["x", "é", "😀", "<b>", "\r\n", "e\u0301"]),
                 st.sampled_from([121, 301, 1001, 2001, 5001, 20_000, 600_000]))
TEXT = st.one_of(_PIECE, st.lists(_PIECE, min_size=2, max_size=6).map("".join), LONG)
DATES = st.one_of(
    st.dates().map(date.isoformat),
    st.sampled_from(["2026-02-30", "2026-13-01", "0000-00-00", "9999-12-31", "0001-01-01", "-2026-03-04",
                     "2026-3-4", "04/03/2026", "2026-03-04T10:00", "２０２６-０３-０４", "2026-03-04\x00",
                     "2026-03-04\n", "20260304", "2026-03-04 ", ""]),
    TEXT,
)
TIMES = st.one_of(
    st.times().map(lambda t: t.strftime("%H:%M")),
    st.sampled_from(["24:00", "23:60", "-1:00", "10:00:00", "10.00", "1000", "10:00 PM", "１０:００",
                     "99999999999:00", "10:0", "T10:00", ""]),
    TEXT,
)
#: Past Python's 4,300-digit limit for ``int()`` (a ValueError, which was a 500).
HUGE = "9" * 5000
IDS = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["0", "-1", "2147483648", "9223372036854775808", "1e3", "0x10", "1_000", " 1", "١", "²",
                     HUGE, "1" + "0" * 4400, "-" + HUGE]),
    TEXT,
)


# --------------------------------------------------------------------------- what must hold for every answer

def _template_tags() -> set[str]:
    """Every tag the templates (the plugin's and the host's base) and WTForms widgets write."""
    folder = Path(state.__code__.co_filename).with_name("templates")
    found = {"html", "head", "body", "meta", "title", "link", "input", "select", "option", "textarea", "label",
             "ul", "li", "button", "br", "script"}
    for template in folder.rglob("*.html"):
        found |= {tag.lower() for tag in re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", template.read_text())}
    return found


TAGS = _template_tags()


class _Tags(HTMLParser):
    """Start tags and their attributes (for the HTML part of emails)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)([^>]*)>")
_ATTRIBUTE = re.compile(r"""([^\s"'=<>/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?""")
_BAD_URL = re.compile(r"\s*(?:javascript|data|vbscript):", re.I)


def assert_safe_html(page: str, where: str) -> None:
    """No tag the templates did not write, no event handler, no script without src, no javascript: URL.

    Regular expressions rather than a parser (thousands of pages a run), sound because escaping turns
    every "<", ">" and quote in text into an entity: each "<name ...>" left is markup the templates
    wrote, and each quoted attribute value ends at the template's own quote."""
    for name, rest in _TAG.findall(page):
        tag = name.lower()
        assert tag in TAGS, f"{where}: a <{tag}> tag the templates never write: input got through unescaped"
        attributes = {key.lower(): next((v for v in values if v), "") for key, *values in _ATTRIBUTE.findall(rest)}
        assert not any(key.startswith("on") for key in attributes), f"{where}: an event handler on <{tag}{rest}>"
        if tag == "script":
            assert "src" in attributes, f"{where}: an inline <script>"
        for key in ("href", "src", "action", "formaction"):
            value = html.unescape(attributes.get(key, ""))
            assert not _BAD_URL.match(value), f"{where}: <{tag} {key}={value!r}>"


def _text_of(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)).strip()


def assert_answered(response: Any, allowed: set[int], what: str) -> None:
    """Never a 5xx; a status we expect; a refusal carries a message a person can read."""
    status = response.status_code
    assert status < 500, f"{what}: {status}"
    assert status in allowed, f"{what}: unexpected {status}"
    if status >= 400:
        assert len(_text_of(response.get_data(as_text=True))) >= 10, f"{what}: a {status} with no message"
    if status in (301, 302, 303, 307, 308):
        location = response.headers["Location"].removeprefix("http://localhost")  # Werkzeug's own 308s are absolute
        assert re.fullmatch(r"/(?![/\\])[!-~]*", location) and "\\" not in location, (
            f"{what}: redirects off the portal to {location!r}"
        )
    content_type = response.headers.get("Content-Type", "")
    if status == 200 and content_type.startswith("text/html"):
        assert_safe_html(response.get_data(as_text=True), what)


# --------------------------------------------------------------------------- one app for the whole module


@pytest.fixture(scope="module")
def inbox() -> Iterator[Inbox]:
    """A real SMTP server on loopback for the whole module: the emails the plugin sends while the
    examples run are checked too (see :func:`assert_clean_inbox`)."""
    from email import message_from_bytes

    from aiosmtpd.controller import Controller

    box = Inbox(free_port(), [])

    class Handler:
        async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
            box.messages.append(message_from_bytes(envelope.content, policy=email.policy.default))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, inbox: Inbox) -> Iterator[Flask]:
    """One host for every example (a fresh app per example would cost more than the example)."""
    app = make_app(tmp_path_factory.mktemp("hostile") / "instance", HOME_VISITS_SMTP_HOST="127.0.0.1",
                   HOME_VISITS_SMTP_PORT=inbox.port, HOME_VISITS_SMTP_TIMEOUT=5)
    yield app
    state(app).engine.dispose()


@pytest.fixture(autouse=True)
def _emails_stay_clean(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test: every email the plugin sent during it has only its own headers and safe HTML."""
    yield
    if "inbox" in request.fixturenames or "app" in request.fixturenames:
        box = request.getfixturevalue("inbox")
        assert_clean_inbox(box, request.node.name)


@pytest.fixture(scope="module")
def as_user(app: Flask) -> Any:
    clients: dict[str, FlaskClient] = {}

    def client_for(user: str) -> FlaskClient:
        if user not in clients:
            clients[user] = app.test_client()
            with clients[user].session_transaction() as session:
                session["_user_id"] = user
                session["_fresh"] = True
        return clients[user]

    return client_for


def new_visit(app: Flask, wanted: str = "draft", overwrite: dict[str, Any] | None = None, **changes: Any) -> Visit:
    """A visit led by sam (jo second, pat the contact) taken through the workflow to ``wanted``; then
    ``overwrite`` is written straight into the row, as if some other path had stored it."""
    st_ = state(app)
    sam, alex = (st_.directory.person(USERS[u]) for u in ("sam", "alex"))
    now = st_.clock()
    steps = {"draft": [], "submitted": ["submit"], "authorised": ["submit", "authorise"],
             "checked_out": ["submit", "authorise", "check_out"],
             "returned": ["submit", "authorise", "check_out", "check_in"],
             "recorded": ["submit", "authorise", "check_out", "check_in", "record"]}[wanted]
    with st_.sessions() as session:
        visit = services.create_visit(session, valid_plan(**changes), actor=sam, now=now)
        session.flush()
        for step in steps:
            if step == "submit":
                problems = services.submit(session, visit, actor=sam, policy=st_.policy, now=now)
                assert not problems, problems
            elif step == "record":
                assert visit.starts_at is not None
                data = RecordData(outcome="no_answer",
                                  actions=[Action("Phone the family", "Sam", visit.starts_at.date() + timedelta(2))])
                record = recording.save(session, visit, data, actor=sam, now=now, version=None)
                session.flush()
                assert not recording.submit(session, visit, record, actor=sam, policy=st_.policy, now=now)
            else:
                actor = alex if step == "authorise" else sam
                if step == "check_out":  # staff check out on the visit's day; what follows happens then too
                    assert visit.starts_at is not None
                    now = visit.starts_at
                services.decide(session, visit, step, actor=actor, policy=st_.policy, now=now)
        for name, value in (overwrite or {}).items():
            setattr(visit, name, value)
        if overwrite and "pupil" in overwrite:
            visit.pupil_initials = services.initials(visit.pupil)
        session.commit()
        return visit


def stored_visit(app: Flask, visit_id: int) -> Visit | None:
    with state(app).sessions() as session:
        return session.get(Visit, visit_id)


@pytest.fixture(scope="module")
def visit_in(app: Flask) -> Any:
    """``visit_in(state, pool)``: a visit in ``state`` kept for the next examples while it stays there, for
    at most :data:`USES` of them (so its history, corrections and extensions stay short). A fresh visit
    for every example would double the run; an example that moves the visit on gets a new one next."""
    kept: dict[tuple[str, str], tuple[int, int]] = {}

    def visit(wanted: str, pool: str) -> Visit:
        visit_id, uses = kept.get((pool, wanted), (0, USES))
        found = stored_visit(app, visit_id) if uses < USES else None
        if found is None or found.state != wanted:
            found, uses = new_visit(app, wanted), 0
        kept[(pool, wanted)] = (found.id, uses + 1)
        return found

    return visit


#: How many examples share one kept visit.
USES = 20


def visit_count(app: Flask) -> int:
    with state(app).sessions() as session:
        return session.scalar(select(func.count()).select_from(Visit)) or 0


def assert_fits_its_columns(row: Any, what: str) -> None:
    """Every saved text fits its column: SQLite would keep an overlong one, PostgreSQL would fail (500)."""
    for column in type(row).__table__.columns:
        value, length = getattr(row, column.key, None), getattr(column.type, "length", None)
        if isinstance(value, str) and length:
            assert len(value) <= length, f"{what}: {column.key} holds {len(value)} characters, its column {length}"


#: Pages that show a visit besides its own; each check opens the next one in turn (all of them on
#: every example would triple the run for little gain: thousands of examples still reach each page).
OTHER_PAGES = (("sam", "/home-visits/"), ("sam", "/home-visits/{id}/edit"), ("alex", "/home-visits/approvals"),
               ("pat", "/home-visits/dashboard"), ("alex", "/home-visits/{id}/record"),
               ("alex", "/home-visits/?scope=all"), ("pat", "/home-visits/{id}"))
_turn = itertools.count()


def assert_renders_safely(app: Flask, as_user: Any, visit_id: int, what: str, *, retire: bool = True) -> None:
    """The saved visit: its page (the pupil's name shown escaped, exactly as typed), one more page that
    lists or shows it, its calendar event and its alert emails. Then (``retire``) the visit is cancelled
    so the lists stay short for the next example."""
    response = as_user("sam").get(f"/home-visits/{visit_id}")
    assert_answered(response, {200}, f"{what}, then its page")
    visit = stored_visit(app, visit_id)
    assert visit is not None
    assert_fits_its_columns(visit, what)
    if visit.pupil.strip():
        assert str(escape(visit.pupil)) in response.get_data(as_text=True), (
            f"{what}: the pupil's name is not on the page as typed, escaped"
        )
    user, path = OTHER_PAGES[next(_turn) % len(OTHER_PAGES)]
    path = path.format(id=visit_id)
    assert_answered(as_user(user).get(path), {200, 403}, f"{what}, then GET {path} as {user}")
    if visit.starts_at is not None and visit.expected_return is not None and visit.state != "draft":
        assert_one_event(app, visit, what)
    if visit.expected_return is not None:
        assert_clean_email(app, visit, what)
    if not retire:
        return
    with state(app).engine.begin() as connection:
        connection.execute(update(Visit.__table__).where(Visit.__table__.c.id == visit_id).values(state="cancelled"))


# --------------------------------------------------------------------------- the calendar and the email


def assert_one_event(app: Flask, visit: Visit, what: str) -> None:
    """The visit is one VEVENT whose text survives the round trip: nothing in it can start a new
    property or event (line breaks are escaped, as RFC 5545 asks). Only visits a feed would hold (its
    window); ``test_a_visit_in_year_one_does_not_break_the_feed`` covers the rest."""
    st_ = state(app)
    assert visit.starts_at is not None
    window = feeds.Window()
    if not -window.days_back <= (visit.starts_at - st_.clock()).days <= window.days_ahead:
        return
    event = feeds.feed_event(visit, policy=st_.policy, directory=st_.directory,
                             link=lambda visit_id: f"https://portal.school.example/home-visits/{visit_id}",
                             now=st_.clock())
    body = calendar.build_feed([event], name="Home visits", timezone=st_.policy.school.timezone,
                               domain="school.example")
    # As a client reads it: unfolded lines, each a known property; one event.
    lines = body.replace(b"\r\n ", b"").split(b"\r\n")
    assert all(b"\n" not in line and b"\r" not in line for line in lines), f"{what}: a bare line break in the feed"
    inside = lines[lines.index(b"BEGIN:VEVENT") + 1: lines.index(b"END:VEVENT")]
    names = {re.split(rb"[;:]", line, maxsplit=1)[0].decode() for line in inside}
    assert lines.count(b"BEGIN:VEVENT") == 1 and names <= EVENT_PROPERTIES, f"{what}: the event holds {names}"
    if next(_turn) % 10:  # the full parse and round trip, one example in ten (icalendar is slow)
        return
    parsed = Calendar.from_ical(body)
    events = parsed.walk("VEVENT")
    assert len(events) == 1, f"{what}: {len(events)} events in the feed"
    # RFC 5545 text has one line break (\n): a stored \r comes back as \n, and icalendar drops a byte-order
    # mark at the start of a value; nothing else may change.
    assert str(events[0]["LOCATION"]).replace("\ufeff", "") == (
        re.sub(r"\r\n?", "\n", calendar.location(event)).replace("\ufeff", "")
    ), f"{what}: LOCATION changed in the feed"
    assert str(events[0]["SUMMARY"]) == calendar.summary(event)
    assert {name for name, _ in events[0].property_items()} <= EVENT_PROPERTIES | {"BEGIN", "END"}


EVENT_PROPERTIES = {"UID", "SEQUENCE", "DTSTAMP", "CREATED", "LAST-MODIFIED", "DTSTART", "DTEND", "STATUS", "SUMMARY",
                    "LOCATION", "DESCRIPTION", "URL"}


EMAIL_HEADERS = {"From", "To", "Subject", "Message-ID", "Content-Type", "Content-Transfer-Encoding", "MIME-Version",
                 "Date", "Cc", "Reply-To", "Auto-Submitted", "Precedence", "List-Unsubscribe",
                 "X-Auto-Response-Suppress", "X-Home-Visits-Alert", "X-Home-Visit-Id", "Content-Class"}
EMAIL_TAGS = {"html", "head", "meta", "title", "body", "p", "br", "a", "strong", "em", "ul", "ol", "li", "pre",
              "div", "span", "h1", "h2", "h3", "table", "tr", "td", "th", "tbody", "thead"}


def assert_clean_inbox(box: Inbox, what: str) -> None:
    """Every email received: no header beyond the plugin's own (nothing injected), one-line header values,
    and an HTML part (if any) with no script, event handler, or tag that plain text could not produce."""
    messages, box.messages[:] = list(box.messages), []
    for message in messages:
        extra = set(message.keys()) - EMAIL_HEADERS
        assert not extra, f"{what}: an email with injected headers {extra}: {message['Subject']!r}"
        for name, value in message.items():
            assert "\n" not in str(value) and "\r" not in str(value), f"{what}: {name} spans lines"
        for part in message.walk():
            if part.get_content_type() == "text/html":
                parser = _Tags()
                parser.feed(part.get_content())
                for tag, attrs in parser.found:
                    assert tag in EMAIL_TAGS, f"{what}: a <{tag}> in an email"
                    for name, value in attrs:
                        assert not name.startswith("on"), f"{what}: an event handler in an email"
                        if name in ("href", "src"):
                            assert re.match(r"https?://", value or ""), f"{what}: a link to {value!r} in an email"


def assert_clean_email(app: Flask, visit: Visit, what: str) -> None:
    """The overdue alert for the visit: the same headers whatever the visit holds, and its address
    in the body as one line."""
    st_ = state(app)
    context = escalation.Context(policy=st_.policy, directory=st_.directory, mailer=lambda *a: None,
                                 link=lambda visit_id: f"https://portal.school.example/home-visits/{visit_id}")
    settings_ = mail.MailSettings(host="127.0.0.1", port=25, sender="home-visits@school.example")
    for alert in (Alert(key="tier-0", notify=["office"], raised_by=""), Alert(key="incident", notify=["approvers"],
                                                                             raised_by="sam")):
        subject, text = escalation.alert_email(alert, visit, context, st_.clock())
        message = mail.compose(settings_, to=["office@school.example"], subject=subject, text=text)
        parsed = email.message_from_bytes(message.as_bytes())  # compat32: the fast parser is enough here
        assert sorted(parsed.keys()) == sorted(["From", "To", "Subject", "Message-ID", "Content-Type",
                                                "Content-Transfer-Encoding", "MIME-Version"]), (
            f"{what}: email headers {parsed.keys()}"
        )
        assert parsed["To"] == "office@school.example"
        body = " ".join(parsed.get_payload(decode=True).decode().split())
        address = " ".join(f"Address: {visit.address} {visit.postcode}".split())
        assert address in body, f"{what}: the address is not in the email as stored"


# --------------------------------------------------------------------------- the plan form

PLAN_FIELDS = [
    "pupil", "address", "postcode", "reason", "reason_other", "purpose", "date", "start_time", "return_time",
    "second_staff_id", "alone_reason", "contact_id", "contact_phone", "family_agreed", "appointment", "travel",
    "language_needs", "agencies", "risk_factors", "risk_notes", "alternatives", "alternatives_notes", "checklist",
    "version", "save", "submit", "csrf_token", "unexpected_field",
]


def value_for(field: str) -> st.SearchStrategy[Any]:
    if field in ("date",):
        return DATES
    if field in ("start_time", "return_time", "until", "started", "ended"):
        return TIMES
    if field in ("version",):
        return IDS
    if field in ("risk_factors", "alternatives", "checklist", "incident_kinds"):
        return st.lists(TEXT, max_size=4)
    return TEXT


@st.composite
def hostile_fields(draw: st.DrawFn, fields: list[str]) -> dict[str, Any]:
    """One to three fields of the form replaced by hostile values."""
    chosen = draw(st.lists(st.sampled_from(fields), min_size=1, max_size=3, unique=True))
    return {name: draw(value_for(name)) for name in chosen}


@budget("plan_form")
@given(changes=hostile_fields(PLAN_FIELDS), action=st.sampled_from(["save", "submit"]))
@example(changes={"pupil": "<script>alert(1)</script>", "address": '"><img src=x onerror=alert(1)>\r\nBcc: x'},
         action="save")
@example(changes={"pupil": "\u202eJamie\u202c e\u0301 👨‍👩‍👧‍👦", "purpose": "\x00"}, action="save")
@example(changes={"version": "²"}, action="save")
@example(changes={"version": HUGE}, action="save")
@example(changes={"family_agreed": "\r\n" * 20, "appointment": ""}, action="save")
@example(changes={"date": "9999-12-31", "start_time": "23:59", "return_time": "00:00"}, action="submit")
def test_the_plan_form_takes_anything(app: Flask, as_user: Any, changes: dict[str, Any], action: str) -> None:
    data = form_data(**{action: action.title()})
    data.update(changes)
    before = visit_count(app)
    response = as_user("sam").post("/home-visits/new", data=data)
    what = f"POST /home-visits/new {changes!r:.300}"
    assert_answered(response, {302, 400, 413, 422}, what)
    saved = visit_count(app) - before
    assert saved == (1 if response.status_code == 302 else 0), f"{what}: {saved} visits saved"
    if response.status_code == 302:
        visit_id = int(response.headers["Location"].removesuffix("/check").rsplit("/", 1)[1])  # "Continue": checked
        assert_renders_safely(app, as_user, visit_id, what)


@budget("edit_form")
@given(changes=hostile_fields(PLAN_FIELDS), action=st.sampled_from(["save", "submit"]),
       wanted=st.sampled_from(["draft", "submitted", "authorised"]))
def test_editing_a_plan_takes_anything(app: Flask, as_user: Any, visit_in: Any, changes: dict[str, Any],
                                       action: str, wanted: str) -> None:
    visit = visit_in(wanted, "edit")
    data = form_data(version=str(visit.version), **{action: action.title()})
    data.update(changes)
    response = as_user("sam").post(f"/home-visits/{visit.id}/edit", data=data)
    what = f"POST /home-visits/{visit.id}/edit ({wanted}) {changes!r:.300}"
    assert_answered(response, {302, 400, 409, 413, 422}, what)
    assert_renders_safely(app, as_user, visit.id, what, retire=False)


# --------------------------------------------------------------------------- the smaller forms


@budget("decision")
@given(comment=TEXT, button=st.sampled_from(["authorise", "decline", "cancel", "nonsense", ""]),
       extra=st.dictionaries(TEXT, TEXT, max_size=2))
@example(comment="<script>alert(1)</script>\r\n\x00", button="decline", extra={})
@example(comment="", button="authorise", extra={"version": HUGE})
def test_decisions_take_anything(app: Flask, as_user: Any, visit_in: Any, comment: str, button: str,
                                 extra: dict[str, str]) -> None:
    visit = visit_in("submitted", "decide")
    data = {**extra, "comment": comment, **({button: button.title()} if button else {})}
    response = as_user("alex").post(f"/home-visits/{visit.id}/decide", data=data)
    what = f"decide {button} {comment!r:.200}"
    assert_answered(response, {302, 400, 403, 409, 413, 422}, what)
    assert_renders_safely(app, as_user, visit.id, what, retire=False)


@budget("extend")
@given(until=TIMES, reason=TEXT)
@example(until="10:00", reason="<b>late</b>\u202e")
def test_extending_takes_anything(app: Flask, as_user: Any, visit_in: Any, until: str, reason: str) -> None:
    visit = visit_in("checked_out", "extend")
    response = as_user("sam").post(f"/home-visits/{visit.id}/extend", data={"until": until, "reason": reason})
    what = f"extend {until!r:.80} {reason!r:.200}"
    assert_answered(response, {302, 400, 409, 413, 422}, what)
    assert_renders_safely(app, as_user, visit.id, what, retire=False)
    assert_answered(as_user("pat").get("/home-visits/dashboard"), {200}, f"{what}, then the dashboard")


RECORD_FIELDS = [
    "outcome", "setting", "day", "started", "ended", "points", "child_voice", "parents_views", "agreements",
    "concerns", "safeguarding", "safeguarding_where", "incident_kinds", "incident_details", "reflection", "version",
    "present-0-name", "present-0-relationship", "present-0-agreed", "present-99999999999999999999-name",
    "observations-0-kind", "observations-0-text", "observations-1-text", "actions-0-what", "actions-0-owner",
    "actions-0-due", "actions--1-what", f"actions-{HUGE}-what", f"present-{HUGE}-name", "save", "submit",
]


def _record_value(field: str) -> st.SearchStrategy[Any]:
    if field in ("day", "actions-0-due"):
        return DATES
    return value_for(field)


@st.composite
def record_changes(draw: st.DrawFn) -> dict[str, Any]:
    chosen = draw(st.lists(st.sampled_from(RECORD_FIELDS), min_size=1, max_size=4, unique=True))
    return {name: draw(_record_value(name)) for name in chosen}


@budget("record_form")
@given(changes=record_changes(), action=st.sampled_from(["save", "submit"]))
@example(changes={"points": "<script>x</script>", "present-0-name": "\r\n<b>", "observations-0-kind": "fact"},
         action="submit")
@example(changes={"outcome": "\r\n" * 20, "setting": " " * 30}, action="save")
@example(changes={f"actions-{HUGE}-what": "x", "version": HUGE}, action="save")
def test_the_record_form_takes_anything(app: Flask, as_user: Any, visit_in: Any, changes: dict[str, Any],
                                        action: str) -> None:
    visit = visit_in("returned", "record")
    base = {"outcome": "took_place", "setting": "inside", "day": "2026-03-02", "started": "07:00", "ended": "07:30",
            "present-0-name": "Ms A Smith", "present-0-relationship": "Mother", "points": "Attendance.",
            action: action.title()}
    response = as_user("sam").post(f"/home-visits/{visit.id}/record", data={**base, **changes})
    what = f"record {action} {changes!r:.300}"
    assert_answered(response, {302, 400, 409, 413, 422}, what)
    user = ("sam", "jo", "alex")[next(_turn) % 3]  # the lead, the second member of staff, a senior leader
    assert_answered(as_user(user).get(f"/home-visits/{visit.id}/record"), {200}, f"{what}, then as {user}")
    with state(app).sessions() as session:
        record = session.scalar(select(VisitRecord).where(VisitRecord.visit_id == visit.id))
        submitted = record is not None and record.submitted_at is not None
        if record is not None:
            assert_fits_its_columns(record, what)
    if submitted:
        copy = as_user("sam").get(f"/home-visits/{visit.id}/record/cpoms")
        assert_answered(copy, {200}, f"{what}, then the CPOMS copy")
        text = as_user("sam").get(f"/home-visits/{visit.id}/record/cpoms?format=txt")
        assert_answered(text, {200}, f"{what}, then the CPOMS text")


@budget("correction")
@given(field=st.one_of(st.sampled_from(["points", "times", "incident"]), TEXT), text=TEXT, reason=TEXT,
       comment=TEXT, who=st.sampled_from(["sam", "jo", "alex"]))
def test_corrections_and_confirmations_take_anything(app: Flask, as_user: Any, visit_in: Any, field: str, text: str,
                                                      reason: str, comment: str, who: str) -> None:
    visit = visit_in("recorded", "correct")
    client = as_user(who)
    corrected = client.post(f"/home-visits/{visit.id}/record/correct",
                            data={"field": field, "text": text, "reason": reason})
    what = f"correct as {who} {field!r:.60} {text!r:.100} {reason!r:.100}"
    assert_answered(corrected, {302, 400, 403, 409, 413, 422}, what)
    confirmed = client.post(f"/home-visits/{visit.id}/record/confirm", data={"comment": comment, "confirm": "Yes"})
    assert_answered(confirmed, {302, 400, 403, 409, 413, 422}, f"confirm as {who} {comment!r:.100}")
    user = ("sam", "jo", "alex")[next(_turn) % 3]
    path = f"/home-visits/{visit.id}/record" + ("/cpoms" if next(_turn) % 2 else "")
    assert_answered(as_user(user).get(path), {200}, f"{what}, then {path} as {user}")


@budget("action_next")
@given(target=st.one_of(TEXT, st.sampled_from(["/home-visits/", "//evil.example/", "/\\evil.example",
                                               "/\t/evil.example", "https://evil.example/", "/home-visits/\r\nX: y",
                                               "javascript:alert(1)", "/%2F%2Fevil.example"])))
def test_marking_an_action_done_never_redirects_off_the_portal(app: Flask, as_user: Any, visit_in: Any,
                                                               target: str) -> None:
    visit = visit_in("recorded", "action")
    with state(app).sessions() as session:
        action_id = session.scalar(select(RecordAction.id).join(VisitRecord).where(VisitRecord.visit_id == visit.id))
    response = as_user("sam").post(f"/home-visits/actions/{action_id}/done", data={"next": target})
    assert_answered(response, {302, 400, 413}, f"action done, next={target!r:.200}")


# --------------------------------------------------------------------------- query parameters and URL segments

QUERY_NAMES = ["page", "like", "scope", "start", "end", "names", "format", "show", "next", "visit_id", "token"]


@st.composite
def queries(draw: st.DrawFn) -> list[tuple[str, str]]:
    pairs = draw(st.lists(st.tuples(st.one_of(st.sampled_from(QUERY_NAMES), TEXT),
                                    st.one_of(IDS, DATES, TEXT, st.sampled_from(["all", "txt", "y", "on"]))),
                          min_size=1, max_size=4))
    return [(name[:2000], value[:2000]) for name, value in pairs]


def get_routes(app: Flask) -> list[str]:
    """Every GET route of the plugin, filled in with a real visit and a real feed token."""
    visit = new_visit(app, "recorded")
    st_ = state(app)
    with st_.sessions() as session:
        token = feeds.issue(session, st_.directory.person(USERS["alex"]), scope="all", now=st_.clock())
        session.commit()
    values = {"visit_id": str(visit.id), "action_id": "1", "token": token, "filename": "copy.js", "path": "index.html",
              "part_id": "pupil"}
    paths = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("home_visits.") and "GET" in (rule.methods or ()):
            paths.append(re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: values[m[1]], rule.rule))
    return sorted(paths)


@pytest.fixture(scope="module")
def routes(app: Flask) -> list[str]:
    return get_routes(app)


@budget("query")
@given(data=st.data(), user=st.sampled_from(["sam", "alex", "pat"]))
@example(data=None, user="alex")
def test_query_parameters_take_anything(app: Flask, as_user: Any, routes: list[str], data: Any, user: str) -> None:
    if data is None:  # the explicit cases first
        cases = [("/home-visits/", [("page", "²")]), ("/home-visits/reports", [("start", "9999-12-31"),
                                                                              ("end", "9999-12-31")]),
                 ("/home-visits/reports.csv", [("start", "0001-01-01"), ("end", "9999-12-31"), ("names", "y")]),
                 ("/home-visits/approvals", [("page", "99999999999999999999")])]
        # 5,000 digits in every numeric query parameter.
        cases += [("/home-visits/", [("page", HUGE)]), ("/home-visits/", [("scope", "all"), ("page", HUGE)]),
                  ("/home-visits/approvals", [("page", HUGE)]), ("/home-visits/new", [("like", HUGE)])]
    else:
        cases = [(data.draw(st.sampled_from(routes)), data.draw(queries()))]
    for path, query in cases:
        url = f"{path}?{urlencode(query)}"
        response = as_user(user).get(url)
        assert_answered(response, {200, 303, 304, 400, 403, 404, 413, 422}, f"GET {url[:300]} as {user}")


@st.composite
def segment_paths(draw: st.DrawFn, rules: list[tuple[str, str]]) -> tuple[str, str]:
    """A plugin URL with one of its variables replaced by something hostile, encoded or raw."""
    method, rule = draw(st.sampled_from(rules))
    segment = draw(st.one_of(IDS, TEXT, st.sampled_from(["..", "../..", "%2e%2e", "%00", "%ff", "%", "%zz", "\\",
                                                         "//", "..%2f..%2f", "A" * 43 + "%00"])))
    encode = draw(st.booleans())
    if encode:
        segment = quote(segment[:3000], safe="")
    else:
        segment = "".join(c for c in segment[:3000] if c not in "?#") or "x"
    names = re.findall(r"<(?:[a-z]+:)?[a-z_]+>", rule)
    chosen = draw(st.sampled_from(names)) if names else None
    path = rule.replace(chosen, segment) if chosen else rule + segment
    path = re.sub(r"<(?:[a-z]+:)?[a-z_]+>", "1", path)
    return method, path


@pytest.fixture(scope="module")
def rules(app: Flask) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("home_visits."):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                found.append((method, rule.rule))
    return found


@budget("segment")
@given(data=st.data(), user=st.sampled_from(["sam", "alex", "pat", None]))
@example(data=None, user="alex")
def test_url_segments_take_anything(app: Flask, as_user: Any, rules: list[tuple[str, str]], data: Any,
                                    user: str | None) -> None:
    if data is None:
        cases = [("GET", f"/home-visits/{n}") for n in ("2147483648", "9223372036854775808", "99999999999999999999")]
        # 5,000 digits in every numeric segment of every rule.
        cases += [(method, re.sub(r"<(?:[a-z]+:)?[a-z_]*id>", HUGE, rule)) for method, rule in rules
                  if re.search(r"<(?:[a-z]+:)?[a-z_]*id>", rule)]
        cases += [("POST", "/home-visits/actions/99999999999999999999/done"),
                  ("GET", "/home-visits/static/..%2f..%2fconfig.py"), ("GET", "/home-visits/calendar/%00.ics")]
        # Segments longer than any file name: the handbook's own check answers, not the file system.
        cases += [("GET", "/home-visits/handbook/" + "a" * 300), ("GET", "/home-visits/handbook/x/" + "b" * 5000),
                  ("GET", "/home-visits/handbook/" + "é" * 200 + "/index.html")]
    else:
        cases = [data.draw(segment_paths(rules))]
    client = as_user(user) if user else app.test_client()
    for method, path in cases:
        response = client.open(path, method=method, data={} if method == "POST" else None)
        assert_answered(response, {200, 302, 303, 304, 308, 400, 401, 403, 404, 405, 409, 413, 422},
                        f"{method} {path[:300]} as {user}")


# --------------------------------------------------------------------------- what is stored, shown everywhere


@st.composite
def stored_plans(draw: st.DrawFn) -> dict[str, Any]:
    """Whatever a future form, an import or a bug might store: the views must still show it safely."""
    names = ["pupil", "address", "postcode", "reason_other", "purpose", "alone_reason", "contact_phone",
             "language_needs", "agencies", "risk_notes", "alternatives_notes"]
    chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=5, unique=True))
    limits = {"pupil": 120, "postcode": 10, "reason_other": 200, "contact_phone": 40, "alone_reason": 500,
              "language_needs": 500, "agencies": 500, "address": 300, "alternatives_notes": 1000}
    # Within the column sizes (PostgreSQL enforces them), NUL aside (PostgreSQL text cannot hold it).
    return {name: draw(TEXT).replace("\x00", "")[: limits.get(name, 5000)] for name in chosen}


@budget("stored")
@given(changes=stored_plans(), wanted=st.sampled_from(["submitted", "authorised", "checked_out", "recorded"]))
@example(changes={"address": "1 Road\r\nBcc: victim@example.com\r\n\r\nBEGIN:VEVENT", "postcode": "<b>\r\n"},
         wanted="checked_out")
@example(changes={"pupil": "</h1><script>alert(1)</script>", "purpose": "\u202e<img src=x onerror=alert(1)>"},
         wanted="authorised")
def test_whatever_is_stored_renders_escaped_everywhere(app: Flask, as_user: Any, visit_in: Any,
                                                       changes: dict[str, Any], wanted: str) -> None:
    visit = visit_in(wanted, "stored")
    if "pupil" in changes:
        changes = {**changes, "pupil_initials": services.initials(changes["pupil"])}
    with state(app).engine.begin() as connection:
        connection.execute(update(Visit.__table__).where(Visit.__table__.c.id == visit.id).values(**changes))
    what = f"stored {wanted} {changes!r:.300}"
    assert_renders_safely(app, as_user, visit.id, what, retire=False)
    if next(_turn) % 20:  # the CSV reads every visit of the day: one example in twenty checks it
        return
    start = visit.starts_at.astimezone(timezone.utc).date() if visit.starts_at else date(2026, 3, 4)
    csv = as_user("alex").get(f"/home-visits/reports.csv?start={start - timedelta(days=1)}&end={start}&names=y")
    assert_answered(csv, {200}, f"{what}, then the CSV")
    for row in list(csv_module.reader(io.StringIO(csv.get_data(as_text=True))))[1:]:
        for cell in row:
            assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), f"{what}: a formula in the CSV: {cell!r}"


# --------------------------------------------------------------------------- 10 MB bodies


def _post_routes(app: Flask) -> list[str]:
    return sorted({re.sub(r"<(?:[a-z]+:)?[a-z_]+>", "1", rule.rule) for rule in app.url_map.iter_rules()
                   if rule.endpoint.startswith("home_visits.") and "POST" in (rule.methods or ())})


@pytest.mark.parametrize("kind", ["form", "multipart", "raw"])
def test_a_10_mb_body_is_refused_with_413_even_when_the_host_sets_no_limit(tmp_path: Path, kind: str) -> None:
    app = make_app(tmp_path / "instance")
    assert app.config.get("MAX_CONTENT_LENGTH") is None and app.config["HOME_VISITS_MAX_CONTENT_LENGTH"] == 1024**2
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "alex"
    big = "x" * (10 * 1024 * 1024)
    for path in _post_routes(app):
        if kind == "form":
            response = client.post(path, data={"pupil": big, "comment": big})
        elif kind == "multipart":
            response = client.post(path, data={"pupil": big, "file": (io.BytesIO(big.encode()), "a")},
                                   content_type="multipart/form-data")
        else:
            response = client.post(path, data=big.encode(), content_type="application/x-www-form-urlencoded")
        assert response.status_code == 413, f"POST {path} with 10 MB ({kind}): {response.status_code}"
        assert "Too Large" in response.get_data(as_text=True)
    assert visit_count(app) == 0
    # Under the limit still works.
    assert client.post("/home-visits/new", data={"pupil": "Jamie", "save": "Save"}).status_code == 302


def test_the_smaller_of_the_two_limits_wins(tmp_path: Path) -> None:
    app = make_app(tmp_path / "instance", MAX_CONTENT_LENGTH=1000)
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "sam"
    assert client.post("/home-visits/new", data={"pupil": "x" * 2000}).status_code == 413
    app = make_app(tmp_path / "other", HOME_VISITS_MAX_CONTENT_LENGTH=None)
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "sam"
    assert client.post("/home-visits/new", data={"pupil": "x" * 2_000_000, "save": "Save"}).status_code in (413, 422)


def test_the_hosts_own_routes_keep_the_hosts_limit(tmp_path: Path) -> None:
    app = make_app(tmp_path / "instance")
    app.add_url_rule("/host-upload", "upload", lambda: str(len(request.get_data())), methods=["POST"])
    response = app.test_client().post("/host-upload", data=b"x" * (3 * 1024 * 1024))
    assert response.status_code == 200 and response.get_data(as_text=True) == str(3 * 1024 * 1024)


def test_undecodable_bytes_in_a_body_are_a_clean_answer(tmp_path: Path) -> None:
    app = make_app(tmp_path / "instance")
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "sam"
    for body in (b"pupil=%FF%FE%00&save=1", b"pupil=\xff\xfe&save=1", b"%%%%=%%", b"pupil", b"=&=&&="):
        response = client.post("/home-visits/new", data=body, content_type="application/x-www-form-urlencoded")
        assert_answered(response, {302, 400, 422}, f"POST /home-visits/new {body!r}")
    response = client.post("/home-visits/new", data=b"\xff" * 100, content_type="multipart/form-data; boundary=x")
    assert_answered(response, {302, 400, 422}, "POST /home-visits/new with a broken multipart body")


def test_a_visit_far_in_the_past_or_future_does_not_break_anyones_feed(app: Flask, as_user: Any) -> None:
    from datetime import datetime

    for year in (1, 2, 1899, 9999):
        new_visit(app, "authorised", overwrite={"starts_at": datetime(year, 3, 4, 10, tzinfo=timezone.utc),
                                                "expected_return": datetime(year, 3, 4, 11, tzinfo=timezone.utc)})
    page = as_user("alex").post("/home-visits/calendar/", data={"create": "Create"}).get_data(as_text=True)
    path = re.search(r'value="http://localhost(/home-visits/calendar/[^"]+\.ics)"', page)
    assert path
    assert_answered(app.test_client().get(path[1]), {200}, "the feed with visits in years 1 to 9999")
    for user, page_path in (("alex", "/home-visits/"), ("alex", "/home-visits/?scope=all"),
                            ("pat", "/home-visits/dashboard"), ("alex", "/home-visits/reports")):
        assert_answered(as_user(user).get(page_path), {200}, f"{page_path} with visits in years 1 to 9999")


def test_a_submitted_plan_saved_without_a_date_does_not_break_the_approvals_queue(app: Flask, as_user: Any) -> None:
    """Found by the fuzz: staff can save a submitted plan with its date cleared (edits of a submitted plan
    skip the rules), and the queue's one-click Authorise button then failed for every approver."""
    visit = new_visit(app, "submitted")
    data = form_data(date="", start_time="", return_time="", save="Save changes", version=str(visit.version))
    assert_answered(as_user("sam").post(f"/home-visits/{visit.id}/edit", data=data), {302, 422}, "clear the date")
    assert_answered(as_user("alex").get("/home-visits/approvals"), {200}, "the approvals queue")
