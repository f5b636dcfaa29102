"""The demo portal starts on a fresh machine, seeds its fictional visits and logs people in."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import select

from demo_portal import create_app
from demo_portal.users import DEMO_PASSWORD
from home_visits.extension import state
from home_visits.models import Visit


def make(tmp_path: Path) -> object:
    return create_app({"DEMO_BUILD_HANDBOOK": False, "TESTING": True}, instance_path=str(tmp_path))


def test_first_start_seeds_every_school_once(tmp_path: Path) -> None:
    make(tmp_path)
    app = make(tmp_path)  # a restart does not seed again
    with state(app).sessions() as session:
        seeded = [(v.school_id, v.state) for v in session.scalars(select(Visit))]
    again = make(tmp_path)
    with state(again).sessions() as session:
        assert len(session.scalars(select(Visit)).all()) == len(seeded)
    for school in ("oak", "ash", "elm"):
        states = {state_ for at, state_ in seeded if at == school}
        assert {"draft", "submitted", "authorised", "checked_out", "declined", "cancelled",
                "changes_requested", "returned"} <= states, (school, states)
    assert (tmp_path / "home_visits.sqlite").exists() and (tmp_path / "secret_key").exists()


def test_login_and_reach_the_plugin_from_the_portal(tmp_path: Path) -> None:
    app = make(tmp_path)
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    assert client.get("/home-visits/").status_code == 302  # to the portal's login page
    wrong = client.post("/login", data={"username": "sam", "password": "guess"})
    assert wrong.status_code == 422 and "do not match" in wrong.get_data(as_text=True)
    assert client.post("/login", data={"username": "sam", "password": DEMO_PASSWORD}).status_code == 302
    page = client.get("/home-visits/").get_data(as_text=True)
    assert "Exampleton Primary portal" in page and "Riley Example" in page and 'href="/home-visits/handbook/"' in page


def test_login_refuses_an_offsite_next_link(tmp_path: Path) -> None:
    app = make(tmp_path)
    app.config["WTF_CSRF_ENABLED"] = False
    response = app.test_client().post(
        "/login?next=//evil.example/", data={"username": "sam", "password": DEMO_PASSWORD}
    )
    assert response.location == "/"


def test_settings_come_from_the_environment_and_the_instance_file(tmp_path: Path, monkeypatch: Any) -> None:
    """Pointing the demo at a school's mail server and public name takes no Python: an instance file or
    environment variables (``FLASK_`` + the key) do it, and the environment wins."""
    (tmp_path / "config.py").write_text('HOME_VISITS_SMTP_HOST = "relay.school.example"\n'
                                        'HOME_VISITS_PUBLIC_URL = "https://from-the-file.school.example"\n')
    monkeypatch.setenv("FLASK_HOME_VISITS_PUBLIC_URL", "https://portal.school.example")
    monkeypatch.setenv("FLASK_HOME_VISITS_SMTP_PORT", "587")
    app = make(tmp_path)
    assert app.config["HOME_VISITS_SMTP_HOST"] == "relay.school.example"
    assert app.config["HOME_VISITS_SMTP_PORT"] == 587
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    client.post("/login", data={"username": "alex", "password": DEMO_PASSWORD})
    made = client.post("/home-visits/calendar/", data={"create": "Create my calendar link"}).get_data(as_text=True)
    assert 'value="https://portal.school.example/home-visits/calendar/' in made


def test_the_handbook_link_answers_after_the_build(tmp_path: Path, built_handbook: Path) -> None:
    sites = tmp_path / "handbooks"
    shutil.copytree(built_handbook, sites / "oak")  # as `handbook build` leaves the first school's
    app = create_app({"DEMO_BUILD_HANDBOOK": False, "TESTING": True, "WTF_CSRF_ENABLED": False,
                      "HOME_VISITS_HANDBOOK_DIR": str(sites)}, instance_path=str(tmp_path))
    client = app.test_client()
    client.post("/login", data={"username": "sam", "password": DEMO_PASSWORD})
    home = client.get("/").get_data(as_text=True)
    assert 'href="/home-visits/handbook/"' in home
    handbook = client.get("/home-visits/handbook/", follow_redirects=True)
    assert handbook.status_code == 200 and "Home visits handbook" in handbook.get_data(as_text=True)
    assert client.get("/handbook/before.html").headers["Location"] == "/home-visits/handbook/before.html"


def test_the_demo_builds_each_schools_handbook_from_its_own_policy(tmp_path: Path) -> None:
    from demo_portal.handbook import ensure_handbooks

    app = make(tmp_path)
    assert ensure_handbooks(app.config, app.instance_path)
    sites = tmp_path / "home_visits_handbook"
    for school in app.config["HOME_VISITS_SCHOOLS"]:
        front = (sites / school["id"] / "index.html").read_text(encoding="utf-8")
        assert school["name"] in front, school["id"]


# --------------------------------------------------------------------------- the demo as a model host

import os  # noqa: E402
import re  # noqa: E402
import stat  # noqa: E402
import time  # noqa: E402

import pytest  # noqa: E402

from home_visits.web.guards import DEFAULTS  # noqa: E402


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]  # type: ignore[index]


def logged_in(app: Any) -> Any:
    client = app.test_client()
    token = csrf_of(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": "sam", "password": DEMO_PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client


@pytest.mark.parametrize("target", ["/%09/evil.example/", "/\t/evil.example/", "/\\evil.example", "//evil.example",
                                    "https://evil.example/", "/%0a/evil.example", "/ /evil.example"])
def test_login_only_follows_a_path_on_this_portal(tmp_path: Path, target: str) -> None:
    app = make(tmp_path)
    app.config["WTF_CSRF_ENABLED"] = False
    response = app.test_client().post(f"/login?next={target}", data={"username": "sam", "password": DEMO_PASSWORD})
    assert response.status_code == 302 and response.location == "/"


def test_login_follows_a_path_on_this_portal(tmp_path: Path) -> None:
    app = make(tmp_path)
    app.config["WTF_CSRF_ENABLED"] = False
    response = app.test_client().post("/login?next=/home-visits/approvals?page=2",
                                      data={"username": "sam", "password": DEMO_PASSWORD})
    assert response.location == "/home-visits/approvals?page=2"


def test_logout_needs_the_csrf_token_and_ends_the_session_for_a_copied_cookie(tmp_path: Path) -> None:
    app = make(tmp_path)
    client = logged_in(app)
    page = client.get("/").get_data(as_text=True)
    assert client.post("/logout").status_code == 400  # no token: refused, still logged in
    assert client.get("/").status_code == 200
    cookie = client.get_cookie("session").value
    assert client.post("/logout", data={"csrf_token": csrf_of(page)}).status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    assert thief.get("/").status_code == 302  # the copied cookie no longer signs anyone in


def test_wrong_passwords_are_throttled_per_account_and_address(tmp_path: Path) -> None:
    app = make(tmp_path)
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    answers = [client.post("/login", data={"username": "sam", "password": "guess"}).status_code for _ in range(7)]
    assert answers[:5] == [422] * 5 and answers[5:] == [429, 429]
    blocked = client.post("/login", data={"username": "sam", "password": DEMO_PASSWORD})
    assert blocked.status_code == 429 and "Too many" in blocked.get_data(as_text=True)
    # Another address may still sign in as Jo; the same address is throttled for other accounts too, after more.
    other = app.test_client()
    ok = other.post("/login", data={"username": "jo", "password": DEMO_PASSWORD},
                    environ_base={"REMOTE_ADDR": "192.0.2.9"})
    assert ok.status_code == 302


def test_unknown_users_get_the_same_answer_in_the_same_time(tmp_path: Path) -> None:
    app = make(tmp_path)
    app.config["WTF_CSRF_ENABLED"] = False

    def attempt(username: str, n: int) -> tuple[float, str]:
        client = app.test_client()
        started = time.perf_counter()
        response = client.post("/login", data={"username": username, "password": "guess"},
                               environ_base={"REMOTE_ADDR": f"192.0.2.{n}"})
        return time.perf_counter() - started, response.get_data(as_text=True)

    known = [attempt("sam", n) for n in range(3)]
    unknown = [attempt("nobody-here", 10 + n) for n in range(3)]
    assert {re.sub(r"nobody-here|sam", "", page) for _, page in known + unknown} .__len__() == 1
    fast = min(t for t, _ in known)
    assert min(t for t, _ in unknown) > fast / 3  # the password hash is worked for unknown users too


def test_the_session_cookie_is_samesite_lax_and_secure_over_https(tmp_path: Path) -> None:
    app = make(tmp_path)
    app.config["WTF_CSRF_ENABLED"] = False
    plain = app.test_client().post("/login", data={"username": "sam", "password": DEMO_PASSWORD})
    cookie = plain.headers["Set-Cookie"]
    assert "SameSite=Lax" in cookie and "Secure" not in cookie and "HttpOnly" in cookie
    https = app.test_client().post("/login", data={"username": "sam", "password": DEMO_PASSWORD},
                                   base_url="https://localhost")
    assert "Secure" in https.headers["Set-Cookie"]


def test_the_demos_own_pages_send_the_security_headers(tmp_path: Path) -> None:
    app = make(tmp_path)
    client = logged_in(app)
    for path in ("/login", "/"):
        response = client.get(path)
        for name, value in DEFAULTS.items():
            assert response.headers.get(name) == value, (path, name)


def test_the_secret_key_and_instance_folder_are_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        make(tmp_path / "instance")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "instance").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "instance" / "secret_key").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "instance" / "home_visits.sqlite").stat().st_mode) == 0o600


# --------------------------------------------------------------------------- the demo is a small trust

from datetime import datetime, timedelta  # noqa: E402
from datetime import time as clock_time  # noqa: E402

import yaml  # noqa: E402

from demo_portal.users import demo_users  # noqa: E402
from home_visits.plans import service as services  # noqa: E402
from home_visits.plans.rules import Plan  # noqa: E402

DEMO = Path(__file__).resolve().parents[1] / "plugin" / "demo_portal"
README = Path(__file__).resolve().parents[1] / "README.md"

#: The demo's new accounts and the schools each works at (the four old ones are at the first school, oak).
SCHOOLS_OF = {"sam": {"oak"}, "jo": {"oak"}, "alex": {"oak"}, "office": {"oak"}, "mo": {"oak"}, "ellis": {"oak"},
              "priya": {"ash"}, "lee": {"ash"}, "kim": {"ash"}, "ash-office": {"ash"}, "tara": {"ash"}, "ben": {"ash"},
              "nia": {"elm"}, "theo": {"elm"}, "ola": {"elm"}, "cam": {"elm"}, "ruth": {"elm"}, "elm-office": {"elm"},
              "rowan": {"oak", "ash"}, "dana": {"oak", "ash", "elm"}}


def test_the_demo_is_a_trust_of_three_schools_each_with_its_own_policy(tmp_path: Path) -> None:
    st = state(make(tmp_path))
    assert st.schools.trust and st.schools.ids == ("oak", "ash", "elm")
    assert st.schools.first.name == "Exampleton Primary"
    assert st.policy.school.name == "Exampleton Learning Trust"
    trust = yaml.safe_load((DEMO / "policies" / "trust.yaml").read_text())
    assert trust["extends"] == "default"
    for school in st.schools:
        assert school.policy.school.name == school.name
        own = yaml.safe_load((DEMO / "policies" / f"{school.id}.yaml").read_text())
        assert own["extends"] == "trust"
    closes = {school.id: school.policy.escalation.office_closes for school in st.schools}
    assert len(set(closes.values())) == 3, closes
    assert closes["oak"] == st.policy.escalation.office_closes  # the first school keeps the demo's old hours


def visit_at(app: Any, school: str, lead: str, second: str, contact: str) -> int:
    """A plan submitted at ``school`` the day after tomorrow, in the morning, by ``lead``."""
    st = state(app)
    users = demo_users()
    person = st.directory.person
    policy = st.policy_for(school)
    day = datetime.now(policy.zone).date() + timedelta(days=2)
    starts = datetime.combine(day, clock_time(9, 30), tzinfo=policy.zone)
    plan = Plan(pupil=f"Pupil at {school}", address="1 Test Street, Exampleton", postcode="EX1 1AA",
                reason="extended-absence", purpose="Talk through the absences.", starts_at=starts,
                expected_return=starts + timedelta(hours=1), second_staff_id=person(users[second]).id,
                contact_id=person(users[contact]).id, contact_phone="01632 960000", family_agreed="yes",
                appointment="phone", travel="car", checklist=[item.id for item in policy.guidance.before.items],
                alternatives=[policy.alternatives[0].id])
    with st.sessions() as session:
        visit = services.create_visit(session, plan, actor=person(users[lead]), now=st.clock(), school=school)
        session.flush()
        assert not services.submit(session, visit, actor=person(users[lead]), policy=policy, now=st.clock())
        session.commit()
        return visit.id


def sign_in(app: Any, username: str) -> Any:
    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": DEMO_PASSWORD}).status_code == 302
    return client


def test_each_account_signs_in_and_sees_only_its_schools(tmp_path: Path) -> None:
    app = make(tmp_path)
    app.config["WTF_CSRF_ENABLED"] = False
    assert set(demo_users()) == set(SCHOOLS_OF)
    visits = {"oak": visit_at(app, "oak", "sam", "jo", "office"),
              "ash": visit_at(app, "ash", "priya", "lee", "ash-office"),
              "elm": visit_at(app, "elm", "nia", "theo", "elm-office")}
    takes_part = {"oak": {"sam", "jo", "office"}, "ash": {"priya", "lee", "ash-office"},
                  "elm": {"nia", "theo", "elm-office"}}
    sees_all = {"oak": {"alex", "office", "dana"}, "ash": {"kim", "ash-office", "dana"},
                "elm": {"ruth", "elm-office", "dana"}}
    for username, schools in SCHOOLS_OF.items():
        client = sign_in(app, username)
        assert client.get("/home-visits/").status_code == 200, username
        for school, visit in visits.items():
            expected = 200 if username in takes_part[school] | sees_all[school] else 404
            assert client.get(f"/home-visits/{visit}").status_code == expected, (username, school)
            assert expected == 404 or school in schools
    # Staff plan only where they work: one school straight to its form, two schools asked which.
    def page(who: str, path: str) -> str:
        return str(sign_in(app, who).get(path).get_data(as_text=True))

    assert "For <strong>Ash Hill Academy</strong>" in page("priya", "/home-visits/new")
    assert "For <strong>Exampleton Primary</strong>" in page("sam", "/home-visits/new")
    pick = page("rowan", "/home-visits/new")
    assert "Exampleton Primary" in pick and "Ash Hill Academy" in pick and "Elm Road Infants" not in pick
    # Approvers decide for their own school; the trust's safeguarding lead for every school.
    queues = {who: page(who, "/home-visits/approvals") for who in ("alex", "kim", "ruth", "dana")}
    with state(app).sessions() as session:
        seeded = session.scalars(select(Visit.id).where(Visit.school_id == "oak", Visit.state == "submitted")
                                 .where(Visit.id.not_in(visits.values()))).first()
    link = 'href="/home-visits/{}"'.format
    assert link(seeded) in queues["alex"] and link(visits["oak"]) in queues["alex"]
    assert link(visits["ash"]) not in queues["alex"]
    assert link(visits["ash"]) in queues["kim"] and link(seeded) not in queues["kim"]
    assert link(visits["elm"]) in queues["ruth"] and link(visits["oak"]) not in queues["ruth"]
    assert all(link(visit) in queues["dana"] for visit in [seeded, *visits.values()])


def test_the_readme_lists_every_demo_account(tmp_path: Path) -> None:
    table = README.read_text().split("| username | who | roles |", 1)[1].split("\n\n", 1)[0]
    listed = re.findall(r"^\| `([^`]+)` \|", table, re.M)
    assert sorted(listed) == sorted(demo_users()), listed


def test_demo_reset_empties_the_database_and_seeds_every_school_again(tmp_path: Path) -> None:
    app = make(tmp_path)
    with state(app).sessions() as session:
        seeded = len(session.scalars(select(Visit)).all())
    visit_at(app, "oak", "sam", "jo", "office")  # someone's own visit, which the reset takes away
    result = app.test_cli_runner().invoke(args=["demo", "reset"])
    assert result.exit_code == 0 and f"{seeded} visits seeded" in result.output, result.output
    with state(app).sessions() as session:
        after = session.scalars(select(Visit)).all()
    assert len(after) == seeded and not [v for v in after if v.pupil == "Pupil at oak"]
    assert {v.school_id for v in after} == {"oak", "ash", "elm"}


def test_the_demos_clock_starts_where_demo_now_says_and_a_bad_value_names_the_key(tmp_path: Path) -> None:
    app = create_app({"DEMO_BUILD_HANDBOOK": False, "TESTING": True, "DEMO_NOW": "2026-03-07T10:00"},
                     instance_path=str(tmp_path / "saturday"))
    now = state(app).clock()
    assert now.isoformat().startswith("2026-03-07T10:00") and now.utcoffset() is not None  # March: GMT
    with state(app).sessions() as session:  # a Saturday: the office is closed, the demo is alive all the same
        assert session.scalars(select(Visit).where(Visit.state == "checked_out")).first() is not None
    with pytest.raises(ValueError, match="DEMO_NOW: 'half past ten'"):
        create_app({"DEMO_BUILD_HANDBOOK": False, "DEMO_NOW": "half past ten"}, instance_path=str(tmp_path / "x"))
