"""The demo portal starts on a fresh machine, seeds its fictional visits and logs people in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from demo_portal import create_app
from demo_portal.users import DEMO_PASSWORD
from home_visits.extension import state
from home_visits.models import Visit


def make(tmp_path: Path) -> object:
    return create_app({"DEMO_BUILD_HANDBOOK": False, "TESTING": True}, instance_path=str(tmp_path))


def test_first_start_seeds_three_visits_once(tmp_path: Path) -> None:
    make(tmp_path)
    app = make(tmp_path)  # a restart does not seed again
    with state(app).sessions() as session:
        states = sorted(v.state for v in session.scalars(select(Visit)))
    assert states == ["authorised", "draft", "submitted"]
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
    app = create_app({"DEMO_BUILD_HANDBOOK": False, "TESTING": True, "WTF_CSRF_ENABLED": False,
                      "HOME_VISITS_HANDBOOK_DIR": str(built_handbook)}, instance_path=str(tmp_path))
    client = app.test_client()
    client.post("/login", data={"username": "sam", "password": DEMO_PASSWORD})
    home = client.get("/").get_data(as_text=True)
    assert 'href="/home-visits/handbook/"' in home
    handbook = client.get("/home-visits/handbook/")
    assert handbook.status_code == 200 and "Home visits handbook" in handbook.get_data(as_text=True)
    assert client.get("/handbook/before.html").headers["Location"] == "/home-visits/handbook/before.html"
