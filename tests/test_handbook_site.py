"""The handbook served by the plugin: ``flask home-visits handbook build`` puts it in the instance folder,
the plugin serves it under its own prefix to people with a role, and the link never leads nowhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from home_visits.extension import state
from home_visits.handbook.site import mkdocs_config, sources

from .conftest import make_app


@pytest.fixture
def served(tmp_path: Path, built_handbook: Path) -> FlaskClient:
    app = make_app(tmp_path / "instance", HOME_VISITS_HANDBOOK_DIR=str(built_handbook))
    yield app.test_client()
    state(app).engine.dispose()


def sign_in(client: FlaskClient, user_id: str) -> FlaskClient:
    with client.session_transaction() as session:
        session["_user_id"] = user_id
    return client


def test_the_handbook_link_leads_to_the_built_handbook(served: FlaskClient) -> None:
    client = sign_in(served, "sam")
    nav = client.get("/home-visits/").get_data(as_text=True)
    assert 'href="/home-visits/handbook/"' in nav
    home = client.get("/home-visits/handbook/")
    assert home.status_code == 200 and "Home visits handbook" in home.get_data(as_text=True)
    before = client.get("/home-visits/handbook/before.html")
    assert before.status_code == 200 and "risk" in before.get_data(as_text=True).lower()
    form = client.get("/home-visits/new").get_data(as_text=True)
    assert 'href="/home-visits/handbook/before.html#before-risk-assessment"' in form  # the form's guidance links
    styles = [line for line in home.get_data(as_text=True).split('"') if line.startswith("assets/stylesheets/")]
    assert styles and client.get(f"/home-visits/handbook/{styles[0]}").status_code == 200


def test_only_people_with_a_role_read_it(served: FlaskClient) -> None:
    assert served.get("/home-visits/handbook/").status_code == 401
    refused = sign_in(served, "guest").get("/home-visits/handbook/before.html")
    assert refused.status_code == 403 and "administrator" in refused.get_data(as_text=True)


def test_a_missing_page_and_a_path_out_of_the_site_are_404(served: FlaskClient) -> None:
    client = sign_in(served, "sam")
    assert client.get("/home-visits/handbook/no-such-page.html").status_code == 404
    assert client.get("/home-visits/handbook/../../secret_key").status_code == 404
    assert client.get("/home-visits/handbook/%2e%2e/%2e%2e/secret_key").status_code == 404


def test_an_over_long_path_segment_is_a_404_not_a_500(served: FlaskClient) -> None:
    client = sign_in(served, "sam")
    for path in ("a" * 300, "a" * 300 + "/index.html", "x/" + "b" * 5000, "c" * 256 + ".html"):
        assert client.get(f"/home-visits/handbook/{path}").status_code == 404, path[:20]


def test_staff_only_pages_are_cached_by_the_browser_alone(served: FlaskClient) -> None:
    """Every handbook page (the code word's among them) is for signed-in staff: never kept by a shared
    cache or proxy, only by the person's own browser, and only for the cookie it was sent to."""
    client = sign_in(served, "sam")
    for path in ("", "before.html", "during.html"):
        page = client.get(f"/home-visits/handbook/{path}")
        assert page.status_code == 200, path
        control = {part.strip() for part in page.headers["Cache-Control"].split(",")}
        assert "private" in control and "public" not in control, page.headers["Cache-Control"]
        assert "Cookie" in page.headers.get("Vary", ""), page.headers.get("Vary")


def test_before_it_is_built_the_page_says_how(tmp_path: Path) -> None:
    app = make_app(tmp_path / "instance")
    page = sign_in(app.test_client(), "sam").get("/home-visits/handbook/")
    text = page.get_data(as_text=True)
    assert page.status_code == 404 and "flask home-visits handbook build" in text
    state(app).engine.dispose()


def test_a_school_hosting_its_own_handbook_keeps_its_link(tmp_path: Path) -> None:
    app = make_app(tmp_path / "instance", HOME_VISITS_HANDBOOK_URL="https://handbook.school.example/visits")
    nav = sign_in(app.test_client(), "sam").get("/home-visits/").get_data(as_text=True)
    assert 'href="https://handbook.school.example/visits/"' in nav
    state(app).engine.dispose()


def test_the_build_uses_the_schools_policy_and_says_what_went_wrong(tmp_path: Path) -> None:
    broken = tmp_path / "our-policy.yaml"
    broken.write_text("extends: default\n")
    app = make_app(tmp_path / "instance", HOME_VISITS_POLICY=str(broken))
    broken.write_text("extends: default\nrules:\n  grace_minutes: soon\n")  # after start-up: only the build meets it
    result = app.test_cli_runner().invoke(args=["home-visits", "handbook", "build"])
    assert result.exit_code == 1
    assert "our-policy.yaml" in result.output and "grace_minutes" in result.output
    assert not (tmp_path / "instance" / "home_visits_handbook").exists()
    state(app).engine.dispose()


def test_the_mkdocs_config_is_made_absolute(tmp_path: Path) -> None:
    config = mkdocs_config(sources(), tmp_path / "site")
    assert Path(str(config["docs_dir"])).is_absolute() and config["site_dir"] == str(tmp_path / "site")
    macros = next(p for p in config["plugins"] if isinstance(p, dict) and "macros" in p)  # type: ignore[attr-defined]
    assert Path(macros["macros"]["module_name"] + ".py").is_file()


def test_every_guidance_link_on_the_plan_form_lands_on_its_page_and_anchor(built_handbook: Path) -> None:
    """The plan form's "read the guidance" links name pages and anchors of the built handbook."""
    from home_visits.plans.forms import HANDBOOK_PAGES

    for section, target in HANDBOOK_PAGES.items():
        page, _, anchor = target.partition("#")
        html = (built_handbook / page).read_text(encoding="utf-8") if (built_handbook / page).exists() else ""
        assert html, f"the {section!r} link names {page}, which the handbook does not have"
        assert not anchor or f'id="{anchor}"' in html, f"the {section!r} link's anchor #{anchor} is not on {page}"
    assert HANDBOOK_PAGES["staff"].startswith("who-goes.html")  # the two-staff rule's page
