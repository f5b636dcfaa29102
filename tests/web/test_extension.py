"""The contract with the host portal: init, config, templates, directory, database, start-up errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import inspect

from home_visits import AttributeDirectory, HomeVisits, PolicyError, config
from home_visits.extension import state

from ..conftest import USERS, make_app


def test_config_defaults_are_filled_in_but_host_values_win(tmp_path: Path) -> None:
    app = make_app(tmp_path, HOME_VISITS_PER_PAGE=7)
    for key, value in config.defaults().items():
        if key not in ("HOME_VISITS_PER_PAGE", "HOME_VISITS_DATABASE_URI"):
            assert app.config[key] == value
    assert app.config["HOME_VISITS_PER_PAGE"] == 7
    assert set(config.defaults()) >= {"HOME_VISITS_POLICY", "HOME_VISITS_URL_PREFIX", "HOME_VISITS_BASE_TEMPLATE",
                                      "HOME_VISITS_DATABASE_URI", "HOME_VISITS_HANDBOOK_URL"}


def test_every_config_key_is_documented() -> None:
    source = Path(config.__file__).read_text().splitlines()
    for key in config.defaults():
        line = next(i for i, text in enumerate(source) if text.startswith(key))
        assert source[line - 1].startswith("#:"), f"{key} has no #: comment"


def test_a_second_init_is_refused(app: Flask) -> None:
    with pytest.raises(RuntimeError, match="already initialised"):
        HomeVisits().init_app(app)


def test_state_lives_in_app_extensions_not_on_the_object(tmp_path: Path) -> None:
    extension = HomeVisits()
    first, second = Flask("one", instance_path=str(tmp_path / "a")), Flask("two", instance_path=str(tmp_path / "b"))
    for app in (first, second):
        app.config["SECRET_KEY"] = "x"
        extension.init_app(app)
    assert state(first).engine is not state(second).engine
    assert not [name for name in vars(extension) if name != "_options"]


def test_default_database_is_sqlite_in_the_instance_folder(tmp_path: Path) -> None:
    app = Flask("host", instance_path=str(tmp_path / "instance"))
    HomeVisits(app)
    assert (tmp_path / "instance" / "home_visits.sqlite").exists()
    tables = inspect(state(app).engine).get_table_names()
    assert {"home_visits_visit", "home_visits_audit", "home_visits_alembic_version"} <= set(tables)


def test_url_prefix_comes_from_config(tmp_path: Path, login: Any) -> None:
    app = make_app(tmp_path, HOME_VISITS_URL_PREFIX="/pastoral/visits")
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "sam"
    assert client.get("/pastoral/visits/").status_code == 200
    assert client.get("/home-visits/").status_code == 404


def test_pages_extend_the_host_base_template(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "school.html").write_text(
        "<html><body><nav>SCHOOL NAV</nav>{% block content %}{% endblock %}</body></html>"
    )
    app = make_app(tmp_path, HOME_VISITS_BASE_TEMPLATE="school.html")
    app.template_folder = str(templates)
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "sam"
    page = client.get("/home-visits/").get_data(as_text=True)
    assert "SCHOOL NAV" in page and "My visits" in page


def test_a_host_template_overrides_ours(tmp_path: Path, create_visit: Any) -> None:
    override = tmp_path / "templates" / "home_visits"
    override.mkdir(parents=True)
    (override / "my_visits.html").write_text("Our own list: {{ total }} visits")
    app = make_app(tmp_path)
    app.template_folder = str(tmp_path / "templates")
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "sam"
    assert client.get("/home-visits/").get_data(as_text=True) == "Our own list: 0 visits"


def test_default_directory_reads_user_attributes() -> None:
    directory = AttributeDirectory(USERS.values)
    alex = directory.person(USERS["alex"])
    assert (alex.id, alex.name, alex.email, alex.phone) == (
        "alex", "Alex Morgan", "alex@school.example", "07700 900004")
    assert alex.roles == {"staff", "approver"}
    assert [p.id for p in directory.staff()] == ["alex", "blair", "jo", "kim", "pat", "sam"]  # by name, no guests
    assert directory.find("jo").name == "Jo Jones" and directory.find("nobody") is None
    assert AttributeDirectory().staff() == []


def test_default_directory_takes_roles_as_a_string_and_ignores_unknown_ones() -> None:
    class Minimal:
        roles = "staff superuser"

        def get_id(self) -> str:
            return "7"

    person = AttributeDirectory().person(Minimal())
    assert (person.id, person.name, person.roles) == ("7", "7", {"staff"})


def test_a_custom_directory_is_used(tmp_path: Path) -> None:
    class Directory(AttributeDirectory):
        def staff(self) -> list[Any]:
            return [self.person(USERS["jo"])]

    app = Flask("host", instance_path=str(tmp_path))
    HomeVisits(app, directory=Directory())
    assert [p.id for p in state(app).directory.staff()] == ["jo"]


def test_the_host_can_hand_over_its_engine(tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{tmp_path / 'host.sqlite'}")
    app = Flask("host", instance_path=str(tmp_path / "instance"))
    HomeVisits(app, engine=engine)
    assert state(app).engine is engine
    assert "home_visits_visit" in inspect(engine).get_table_names()


def test_a_broken_policy_file_stops_the_app_starting(tmp_path: Path) -> None:
    bad = tmp_path / "our-policy.yaml"
    bad.write_text("extends: default\nrules:\n  grace_minutes: soon\n")
    app = Flask("host", instance_path=str(tmp_path))
    app.config["HOME_VISITS_POLICY"] = str(bad)
    with pytest.raises(PolicyError) as error:
        HomeVisits(app)
    assert "our-policy.yaml" in str(error.value) and "rules.grace_minutes" in str(error.value)
    assert "home_visits" not in app.extensions


def test_the_school_policy_drives_the_form(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "extends: default\nrisk_factors:\n  - id: risk-stairs\n    title: Steep outside stairs\n"
        "    text: The flat is reached by steep stairs with no rail.\n"
    )
    app = make_app(tmp_path, HOME_VISITS_POLICY=str(policy))
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "sam"
    page = client.get("/home-visits/new").get_data(as_text=True)
    assert "Steep outside stairs" in page and 'value="risk-stairs"' in page


def test_cli_upgrades_the_database(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    result = app.test_cli_runner().invoke(args=["home-visits", "db", "upgrade"])
    assert result.exit_code == 0 and "at head" in result.output
