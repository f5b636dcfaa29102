"""The handbook in a trust: ``handbook build`` makes each school's from its own policy into its own folder,
and the plugin serves each school's to its own people (404 to another school's), the plan form's guidance
links leading to the handbook of the visit's school."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from home_visits.extension import state

from .trust import make_trust_app, signed_in

HANDBOOK = "/home-visits/handbook/"


def trust_app(instance: Path, **config: object) -> Flask:
    return make_trust_app(instance, HOME_VISITS_DATABASE_URI=f"sqlite:///{instance.parent / 'hb.sqlite'}", **config)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Every school's handbook, built once by the command with no flag; and what the command said."""
    instance = tmp_path_factory.mktemp("trust-handbook") / "instance"
    app = trust_app(instance)
    result = app.test_cli_runner().invoke(args=["home-visits", "handbook", "build"])
    state(app).engine.dispose()
    assert result.exit_code == 0, result.output
    return instance / "home_visits_handbook", result.output


@pytest.fixture
def app(tmp_path: Path, built: tuple[Path, str]) -> Iterator[Flask]:
    app = trust_app(tmp_path / "instance", HOME_VISITS_HANDBOOK_DIR=str(built[0]))
    yield app
    state(app).engine.dispose()


def test_each_school_gets_its_own_handbook_from_its_own_policy(built: tuple[Path, str]) -> None:
    site, said = built
    assert sorted(p.name for p in site.iterdir() if not p.name.startswith(".")) == ["north", "south"]
    north = (site / "north" / "index.html").read_text(encoding="utf-8")
    south = (site / "south" / "index.html").read_text(encoding="utf-8")
    assert "North Primary" in north and "South Academy" not in north and "South Academy" in south
    overdue = (site / "north" / "overdue.html").read_text(encoding="utf-8")
    assert "10 minutes" in overdue and "30 minutes" in (site / "south" / "overdue.html").read_text(encoding="utf-8")
    assert f"{site / 'north'}" in said and "/home-visits/handbook/south/" in said


def test_one_school_can_be_built_alone_and_an_unknown_school_is_refused(tmp_path: Path) -> None:
    app = trust_app(tmp_path / "instance")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["home-visits", "handbook", "build", "--school", "south", "--out", str(tmp_path / "hb")])
    assert result.exit_code == 0, result.output
    assert [p.name for p in (tmp_path / "hb").iterdir() if not p.name.startswith(".")] == ["south"]
    refused = runner.invoke(args=["home-visits", "handbook", "build", "--school", "west"])
    assert refused.exit_code == 2 and "north, south" in refused.output.strip().splitlines()[-1]
    state(app).engine.dispose()


def test_people_read_their_own_schools_handbook_and_not_anothers(app: Flask) -> None:
    nina = signed_in(app, "nina")
    to_north = nina.get(HANDBOOK)
    assert to_north.status_code == 302 and to_north.headers["Location"].endswith(f"{HANDBOOK}north/")
    page = nina.get(f"{HANDBOOK}north/")
    assert page.status_code == 200 and "North Primary" in page.get_data(as_text=True)
    assert nina.get(f"{HANDBOOK}north/before.html").status_code == 200
    assert nina.get(f"{HANDBOOK}north").headers["Location"].endswith(f"{HANDBOOK}north/")
    for path in ("south/", "south/before.html", "south", "north/../south/index.html"):
        assert nina.get(HANDBOOK + path).status_code == 404, path
    assert nina.get(f"{HANDBOOK}west/", follow_redirects=True).status_code == 404  # no school: north's page "west/"
    page_alone = nina.get(f"{HANDBOOK}slt-calendar.html")  # a link from a page about no one school
    assert page_alone.headers["Location"].endswith(f"{HANDBOOK}north/slt-calendar.html")
    assert signed_in(app, "sky").get(f"{HANDBOOK}north/index.html").status_code == 404
    assert signed_in(app, "sky").get(f"{HANDBOOK}south/index.html").status_code == 200


def test_people_of_several_schools_choose_which_handbook(app: Flask) -> None:
    for person in ("tara", "tom"):
        page = signed_in(app, person).get(HANDBOOK)
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and "Which school's handbook?" in html
        assert f'href="{HANDBOOK}north/">North Primary' in html and f'href="{HANDBOOK}south/">South Academy' in html
    assert signed_in(app, "tom").get(f"{HANDBOOK}south/before.html").status_code == 200
    choice = signed_in(app, "tara").get(f"{HANDBOOK}slt-calendar.html").get_data(as_text=True)
    assert f'href="{HANDBOOK}south/slt-calendar.html">South Academy' in choice


def test_the_plan_forms_guidance_links_lead_to_the_visits_schools_handbook(app: Flask) -> None:
    form = signed_in(app, "nina").get("/home-visits/new").get_data(as_text=True)
    assert f'href="{HANDBOOK}north/before.html#before-risk-assessment"' in form
    assert f'href="{HANDBOOK}north/"' in form  # the navigation too, on a page about one school's visit
    assert f'href="{HANDBOOK}"' in signed_in(app, "nina").get("/home-visits/").get_data(as_text=True)
    south = signed_in(app, "tara").get("/home-visits/new?school=south").get_data(as_text=True)
    assert f'href="{HANDBOOK}south/before.html#before-risk-assessment"' in south


def test_a_school_not_built_yet_says_how(tmp_path: Path) -> None:
    app = trust_app(tmp_path / "instance")
    page = signed_in(app, "nina").get(f"{HANDBOOK}north/")
    assert page.status_code == 404 and "flask home-visits handbook build --school north" in page.get_data(as_text=True)
    state(app).engine.dispose()


def test_a_trust_hosting_its_handbooks_itself_keeps_one_folder_a_school(tmp_path: Path) -> None:
    app = trust_app(tmp_path / "instance", HOME_VISITS_HANDBOOK_URL="https://handbook.trust.example/visits")
    form = signed_in(app, "nina").get("/home-visits/new").get_data(as_text=True)
    assert 'href="https://handbook.trust.example/visits/north/before.html#before-risk-assessment"' in form
    assert 'href="https://handbook.trust.example/visits/"' in signed_in(app, "nina").get("/home-visits/").get_data(
        as_text=True)
    state(app).engine.dispose()
