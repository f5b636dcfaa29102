"""Data protection in a trust: ``purge`` and ``export`` take ``--school`` and keep to its visits (each school
by its own retention period), and ``flask home-visits schools`` names the schools and any visits of a
school no longer configured."""

from __future__ import annotations

import html
import json
import stat
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from home_visits.extension import state
from home_visits.models import Visit

from ..trust import make_trust_app, signed_in, trust_config, visit_factory

OLD, MIDDLING = datetime(2018, 3, 5, 10, tzinfo=timezone.utc), datetime(2022, 3, 7, 10, tzinfo=timezone.utc)


@pytest.fixture
def trust(tmp_path: Path) -> Any:
    """North keeps visits 7 years (the default); south 3."""
    south = tmp_path / "south-short.yaml"
    south.write_text("extends: trust\nrules:\n  retention_years: 3\n")
    schools = [dict(entry) for entry in trust_config(tmp_path / "policies")["HOME_VISITS_SCHOOLS"]]
    schools[1]["policy"] = str(south)
    app = make_trust_app(tmp_path / "instance", HOME_VISITS_SCHOOLS=schools)
    make = visit_factory(app)
    visits = {"north old": make("north", pupil="Jamie Smith"), "north new": make("north", pupil="Jamie Smith"),
              "south old": make("south", pupil="Jamie Smith"), "south middling": make("south", pupil="Ali Khan")}
    with state(app).sessions() as session:
        for name, start in (("north old", OLD), ("south old", OLD), ("south middling", MIDDLING)):
            session.execute(update(Visit).where(Visit.id == visits[name].id).values(starts_at=start))
        session.commit()
    yield app, {name: visit.id for name, visit in visits.items()}
    state(app).engine.dispose()


def remaining(app: Any) -> set[int]:
    with state(app).sessions() as session:
        return set(session.scalars(Visit.__table__.select().with_only_columns(Visit.id)))


def last_line(result: Any) -> str:
    return result.output.strip().splitlines()[-1]


def test_purge_takes_a_school_and_each_school_keeps_visits_for_its_own_period(trust: Any) -> None:
    app, v = trust
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["home-visits", "purge", "--school", "south", "--dry-run"])
    assert dry.exit_code == 0 and f"visit {v['south old']}:" in dry.output and f"visit {v['north old']}:" not in dry.output
    assert "2 visits are older than 3 years" in dry.output and len(remaining(app)) == 4
    north = runner.invoke(args=["home-visits", "purge", "--school", "north"])
    assert north.exit_code == 0 and "Removed 1 visits older than 7 years" in north.output
    assert remaining(app) == {v["north new"], v["south old"], v["south middling"]}
    every = runner.invoke(args=["home-visits", "purge"])  # no flag: every school, each by its own period
    assert every.exit_code == 0 and "South Academy: Removed 2 visits older than 3 years" in every.output
    assert "North Primary: Removed 0 visits older than 7 years" in every.output
    assert remaining(app) == {v["north new"]}


def test_export_takes_a_school_and_writes_owner_only_files(trust: Any, tmp_path: Path) -> None:
    app, v = trust
    runner = app.test_cli_runner()
    out = tmp_path / "export"
    result = runner.invoke(args=["home-visits", "export", "--pupil", "Jamie Smith", "--school", "north", "--out", str(out)])
    assert result.exit_code == 0, result.output
    files = sorted(out.iterdir())
    assert [f.name for f in files] == ["home-visits-north-jamie-smith.html", "home-visits-north-jamie-smith.json"]
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    export = json.loads(files[1].read_text())
    assert sorted(row["id"] for row in export["tables"]["home_visits_visit"]) == sorted([v["north old"], v["north new"]])
    assert "North Primary" in files[0].read_text() and "South Academy" not in files[0].read_text()
    whole = runner.invoke(args=["home-visits", "export", "--pupil", "Jamie Smith", "--out", str(out)])
    assert whole.exit_code == 0 and "Wrote 3 visits" in whole.output  # no flag: every school's, as before


def test_an_unknown_school_stops_purge_and_export_naming_the_schools(trust: Any, tmp_path: Path) -> None:
    app, _ = trust
    runner = app.test_cli_runner()
    for args in (["purge", "--school", "west"], ["export", "--pupil", "Jamie Smith", "--school", "west",
                                                  "--out", str(tmp_path / "x")]):
        result = runner.invoke(args=["home-visits", *args])
        assert result.exit_code == 2 and "'west'" in last_line(result) and "north, south" in last_line(result)
    assert len(remaining(app)) == 4 and not (tmp_path / "x").exists()


def test_the_schools_command_lists_ids_and_names_and_warns_of_unconfigured_visits(trust: Any) -> None:
    app, v = trust
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["home-visits", "schools"])
    assert listed.exit_code == 0 and listed.stdout == "north\tNorth Primary\nsouth\tSouth Academy\n"
    with state(app).sessions() as session:
        session.execute(update(Visit).where(Visit.id.in_([v["south old"], v["south middling"]])).values(school_id="west"))
        session.commit()
    warned = runner.invoke(args=["home-visits", "schools"])
    assert warned.exit_code == 1 and warned.stdout == listed.stdout
    assert "2 visits" in warned.stderr and "west (2)" in warned.stderr


def test_the_schools_command_in_a_one_school_portal(app: Any) -> None:
    result = app.test_cli_runner().invoke(args=["home-visits", "schools"])
    assert result.exit_code == 0 and result.stdout == f"school\t{state(app).policy.school.name}\n"


def test_schools_move_gives_stranded_visits_to_a_configured_school(trust: Any) -> None:
    """A portal that ran as one school (its visits under ``school``) and then listed its schools under
    other ids: the visits no page showed are given to a school, with a line in each one's history."""
    app, v = trust
    runner = app.test_cli_runner()
    with state(app).sessions() as session:
        stranded = Visit.id.in_([v["south old"], v["south middling"]])
        session.execute(update(Visit).where(stranded).values(school_id="school"))
        session.commit()
    noor = signed_in(app, "noor")
    assert noor.get(f"/home-visits/{v['south old']}").status_code == 404
    refused = runner.invoke(args=["home-visits", "schools", "move", "school", "west"])
    assert refused.exit_code == 2 and "'west'" in last_line(refused) and "north, south" in last_line(refused)
    moved = runner.invoke(args=["home-visits", "schools", "move", "school", "north"])
    assert moved.exit_code == 0 and last_line(moved) == "Moved 2 visits from 'school' to 'north'."
    assert runner.invoke(args=["home-visits", "schools"]).exit_code == 0  # nothing stranded now
    page = html.unescape(noor.get(f"/home-visits/{v['south old']}").get_data(as_text=True))
    assert "moved to another school" in page and "Moved from school 'school' to 'north'" in page
    again = runner.invoke(args=["home-visits", "schools", "move", "school", "north"])
    assert again.exit_code == 0 and last_line(again) == "No visits belong to 'school'."
