"""The app factory and factory fixtures every test uses.

Tests run against SQLite by default; set ``HOME_VISITS_TEST_DATABASE_URI`` to a PostgreSQL URL to
run the same suite there (``.ci/run`` does both).
"""

from __future__ import annotations

import base64
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_login import LoginManager, UserMixin
from sqlalchemy import text
from standardwebhooks.webhooks import Webhook

from home_visits import HomeVisits
from home_visits.db import VERSION_TABLE, make_engine
from home_visits.extension import state
from home_visits.models import Base, Visit
from home_visits.plans import service as services
from home_visits.plans.rules import Plan
from home_visits.policy import cached_policy as load_policy

#: Monday 2 March 2026, 08:00 in London (GMT, so also 08:00 UTC).
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
TEST_DATABASE_URI = os.environ.get("HOME_VISITS_TEST_DATABASE_URI") or None


@dataclass
class User(UserMixin):
    id: str
    name: str
    email: str = ""
    phone: str = ""
    roles: tuple[str, ...] = ()


USERS = {
    u.id: u
    for u in [
        User("sam", "Sam Patel", "sam@school.example", "07700 900001", ("staff",)),
        User("jo", "Jo Jones", "jo@school.example", "07700 900002", ("staff",)),
        User("kim", "Kim Lee", "kim@school.example", "07700 900003", ("staff",)),
        User("alex", "Alex Morgan", "alex@school.example", "07700 900004", ("staff", "approver")),
        User("blair", "Blair Shaw", "blair@school.example", "07700 900005", ("approver",)),
        User("pat", "Pat Office", "office@school.example", "01632 960000", ("office",)),
        User("guest", "A Governor", "gov@school.example", "", ()),
    ]
}


class Clock:
    """A clock the tests move by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def reset_database(uri: str) -> None:
    """Drop the plugin's tables so a shared PostgreSQL database starts each test empty."""
    engine = make_engine(uri)
    Base.metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.execute(text(f"DROP TABLE IF EXISTS {VERSION_TABLE}"))
    engine.dispose()


def make_app(instance: Path, *, users: dict[str, User] | None = None, **config: Any) -> Flask:
    """A minimal host portal with Flask-Login users (``users``, else :data:`USERS`) and the plugin embedded."""
    users = USERS if users is None else users
    app = Flask("host_portal", instance_path=str(instance), root_path=str(instance))
    app.config.update(SECRET_KEY="test", TESTING=True, WTF_CSRF_ENABLED=False,
                      HOME_VISITS_DATABASE_URI=TEST_DATABASE_URI)
    app.config.update(config)
    if TEST_DATABASE_URI and app.config["HOME_VISITS_DATABASE_URI"] == TEST_DATABASE_URI:
        reset_database(TEST_DATABASE_URI)
    LoginManager(app).user_loader(users.get)
    HomeVisits(app, users=users.values)
    state(app).clock = Clock()
    return app


def signed_in(app: Flask, user_id: str) -> FlaskClient:
    """A new test client whose session belongs to ``user_id`` (as Flask-Login stores it)."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user_id
        session["_fresh"] = True
    return client


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = make_app(tmp_path / "instance")
    yield app
    state(app).engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def login(client: FlaskClient) -> Callable[[str], FlaskClient]:
    def login(user_id: str) -> FlaskClient:
        with client.session_transaction() as session:
            session["_user_id"] = user_id
            session["_fresh"] = True
        return client

    return login


@pytest.fixture
def clock(app: Flask) -> Clock:
    return state(app).clock  # type: ignore[return-value]


def valid_plan(**changes: Any) -> Plan:
    """A plan that passes every rule of the default policy at :data:`NOW`."""
    policy = load_policy()
    plan = Plan(
        pupil="Jamie Smith",
        address="12 Larch Close, Exampleton",
        postcode="EX1 2AB",
        reason="extended-absence",  # needs no second member of staff by itself
        purpose="Find out why Jamie has been absent and agree a plan.",
        starts_at=datetime(2026, 3, 4, 10, 0, tzinfo=timezone.utc),
        expected_return=datetime(2026, 3, 4, 11, 0, tzinfo=timezone.utc),
        lead_id="sam",
        second_staff_id="jo",
        contact_id="pat",
        contact_phone="01632 960000",
        family_agreed="yes",
        appointment="phone",
        travel="car",
        checklist=[item.id for item in policy.guidance.before.items if item.required],
        alternatives=[policy.alternatives[0].id],
    )
    for name, value in changes.items():
        setattr(plan, name, value)
    return plan


@pytest.fixture
def create_visit(app: Flask) -> Callable[..., Visit]:
    """``create_visit(state="authorised", lead="sam", **plan_changes)``: a visit taken through the
    real workflow to ``state``."""

    def create(*, state_: str = "draft", lead: str = "sam", approver: str = "alex", **changes: Any) -> Visit:
        st = state(app)
        actor = st.directory.person(USERS[lead])
        plan = valid_plan(lead_id=lead, **changes)
        with st.sessions() as session:
            visit = services.create_visit(session, plan, actor=actor, now=st.clock())
            session.flush()
            if state_ != "draft":
                problems = services.submit(session, visit, actor=actor, policy=st.policy, now=st.clock())
                assert not problems, problems
            deciding = st.directory.person(USERS[approver])
            if state_ in ("authorised", "declined"):
                action = {"authorised": "authorise", "declined": "decline"}[state_]
                services.decide(session, visit, action, actor=deciding, policy=st.policy, now=st.clock(),
                                comment="Not enough detail." if action == "decline" else "")
            if state_ == "cancelled":
                services.decide(session, visit, "cancel", actor=actor, policy=st.policy, now=st.clock())
            session.commit()
            return visit

    return create


def form_data(plan: Plan | None = None, **changes: Any) -> dict[str, Any]:
    """The plan form as a browser would post it."""
    plan = plan or valid_plan()
    start = plan.starts_at.astimezone(load_policy().zone) if plan.starts_at else None
    back = plan.expected_return.astimezone(load_policy().zone) if plan.expected_return else None
    data: dict[str, Any] = {
        "pupil": plan.pupil, "address": plan.address, "postcode": plan.postcode, "reason": plan.reason,
        "reason_other": plan.reason_other, "purpose": plan.purpose,
        "date": start.strftime("%Y-%m-%d") if start else "", "start_time": start.strftime("%H:%M") if start else "",
        "return_time": back.strftime("%H:%M") if back else "",
        "second_staff_id": plan.second_staff_id or "", "alone_reason": plan.alone_reason,
        "contact_id": plan.contact_id or "", "contact_phone": plan.contact_phone,
        "family_agreed": plan.family_agreed, "appointment": plan.appointment, "travel": plan.travel,
        "language_needs": plan.language_needs, "agencies": plan.agencies, "risk_factors": plan.risk_factors,
        "risk_notes": plan.risk_notes, "alternatives": plan.alternatives,
        "alternatives_notes": plan.alternatives_notes, "checklist": plan.checklist,
    }
    data.update(changes)
    return data


def submit_plan(client: FlaskClient, data: dict[str, Any], url: str = "/home-visits/new") -> Any:
    """Submit a plan as a person does: "Continue" saves it as a draft and opens "Check your answers",
    whose "Submit for authorisation" submits it. The answer to the last request (the form again, 422,
    when a rule stops it)."""
    response = client.post(url, data={**data, "submit": "Continue"})
    if response.status_code != 302 or not response.location.endswith("/check"):
        return response
    page = client.get(response.location).get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page)
    return client.post(response.location, data={"version": version[1] if version else "",
                                                 "submit": "Submit for authorisation"})


def file_by_parts(client: FlaskClient, data: dict[str, Any], *, visit_id: int | None = None) -> Any:
    """File a plan as the pages ask it: each part of :data:`PARTS` posted in turn ("Continue" saves that
    part into the draft), then "Submit for authorisation" on "Check your answers". Stops at the first
    answer that is not a redirect (a part's 4xx) and returns it; else the submit's answer."""
    from home_visits.plans.parts import PARTS

    version = ""
    for part in PARTS:
        url = f"/home-visits/{visit_id}/parts/{part.id}" if visit_id else f"/home-visits/new/parts/{part.id}"
        page = client.get(url).get_data(as_text=True)
        found = re.search(r'name="(?:version|form_token)" type="hidden" value="([^"]*)"', page)
        hidden = {"version" if visit_id else "form_token": found[1] if found else ""}
        answers = {k: v for k, v in data.items() if k in part.questions or k == "language"}
        response = client.post(url, data={**answers, **hidden, "submit": "Continue"})
        if response.status_code not in (302, 303):
            return response
        visit_id = visit_id or int(re.search(r"/home-visits/(\d+)/", response.location)[1])
    page = client.get(f"/home-visits/{visit_id}/check").get_data(as_text=True)
    found = re.search(r'name="version" type="hidden" value="(\d+)"', page)
    version = found[1] if found else version
    return client.post(f"/home-visits/{visit_id}/check", data={"version": version,
                                                              "submit": "Submit for authorisation"})


def free_port() -> int:
    """A loopback port nothing listens on (yet)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Inbox:
    """Messages a real SMTP server on loopback received."""

    port: int
    messages: list[Any]

    def clear(self) -> None:
        self.messages.clear()


@pytest.fixture
def smtp_server() -> Iterator[Inbox]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 for the test's duration."""
    from email import message_from_bytes, policy

    from aiosmtpd.controller import Controller

    inbox = Inbox(free_port(), [])

    class Handler:
        async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
            message = message_from_bytes(envelope.content, policy=policy.default)
            inbox.messages.append(message)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


#: What the README's "Deploying" section tells a school to set, as the tests run it: the public URL set,
#: no ``SERVER_NAME``, neither debug nor testing (so Flask answers errors as it would in production).
#: Migrations are left to ``flask home-visits db upgrade`` in the deploy script, as with several workers.
DEPLOYED = {"HOME_VISITS_PUBLIC_URL": "https://portal.school.example", "TESTING": False, "DEBUG": False,
            "HOME_VISITS_AUTO_MIGRATE": False}
#: The two configurations every command test runs under.
DEPLOYMENTS = {"default": {}, "deployed": DEPLOYED}


def link_base(app: Flask) -> str:
    """Where links in emails, feeds and files must point for ``app``."""
    return (app.config["HOME_VISITS_PUBLIC_URL"] or "http://localhost").rstrip("/")


@pytest.fixture(params=sorted(DEPLOYMENTS))
def deployment(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The demo's defaults, then the deployed configuration: each command test runs under both."""
    return DEPLOYMENTS[request.param]


@pytest.fixture
def mail_app(tmp_path: Path, smtp_server: Inbox, deployment: dict[str, Any]) -> Iterator[Flask]:
    """The host portal, sending mail to the loopback SMTP server, under each configuration."""
    app = make_app(tmp_path / "instance", HOME_VISITS_SMTP_HOST="127.0.0.1", HOME_VISITS_SMTP_PORT=smtp_server.port,
                   HOME_VISITS_SMTP_TIMEOUT=5, HOME_VISITS_OUT_OF_HOURS_EMAIL="head.on.call@school.example",
                   **deployment)
    if not app.config["HOME_VISITS_AUTO_MIGRATE"]:  # the deploy script's step, before any worker serves
        upgraded = app.test_cli_runner().invoke(args=["home-visits", "db", "upgrade"])
        assert upgraded.exit_code == 0, upgraded.output
    yield app
    state(app).engine.dispose()


# --------------------------------------------------------------------------- a webhook receiver on loopback

#: The secret the webhook tests configure and the receiver verifies with.
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"a test secret of 24 bytes").decode()

@dataclass
class Receiver:
    """What the receiver got: every request (path, webhook-id, body, whether the signature verified)."""

    port: int
    failures: dict[str, int] = field(default_factory=dict)  # path -> how many first attempts answer 500
    slow: float = 0.0  # seconds the /silent path waits before answering
    requests: list[tuple[str, str, dict[str, Any], bool]] = field(default_factory=list)
    delivered: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    got = Receiver(0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {name.lower(): value for name, value in self.headers.items()}
            verified = True
            if self.path != "/teams":
                try:
                    Webhook(WEBHOOK_SECRET).verify(raw, headers)
                except Exception:  # noqa: BLE001 - any failure to verify is recorded as such
                    verified = False
            got.requests.append((self.path, headers.get("webhook-id", ""), json.loads(raw), verified))
            if self.path == "/silent":
                time.sleep(got.slow)
            seen = sum(1 for path, *_ in got.requests if path == self.path)
            status = 500 if seen <= got.failures.get(self.path, 0) or not verified else 202
            if status == 202:
                got.delivered.append((self.path, headers.get("webhook-id", ""), json.loads(raw)))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    got.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield got
    server.shutdown()
    server.server_close()


# --------------------------------------------------------------------------- hypothesis (tests/test_hostile.py)

from hypothesis import HealthCheck  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402

#: ``ci`` under CI=true (or HYPOTHESIS_PROFILE=ci): no example database written into the checkout, and
#: the hostile-input tests share 10,000 generated inputs; ``dev``: a quick few hundred on a laptop.
HYPOTHESIS_PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") == "true" else "dev")
_SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]
hypothesis_settings.register_profile("dev", deadline=None, suppress_health_check=_SLOW_IS_FINE)
hypothesis_settings.register_profile("ci", deadline=None, suppress_health_check=_SLOW_IS_FINE, database=None,
                                     print_blob=True)
hypothesis_settings.load_profile(HYPOTHESIS_PROFILE)
#: How many inputs tests/test_hostile.py generates in all, split across its tests (HOSTILE_EXAMPLES=n to change).
HOSTILE_EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES") or (10_000 if HYPOTHESIS_PROFILE == "ci" else 400))


@pytest.fixture(scope="session")
def built_handbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The handbook site as ``flask home-visits handbook build`` makes it (built once per run, shared: a
    host under test points ``HOME_VISITS_HANDBOOK_DIR`` here)."""
    instance = tmp_path_factory.mktemp("handbook") / "instance"
    app = make_app(instance, HOME_VISITS_DATABASE_URI=f"sqlite:///{instance.parent / 'build.sqlite'}")
    result = app.test_cli_runner().invoke(args=["home-visits", "handbook", "build"])
    state(app).engine.dispose()
    assert result.exit_code == 0, result.output
    assert "Built the handbook from the shipped policy" in result.output
    return instance / "home_visits_handbook"
