"""Reports in a trust: each approver reports on their own school; someone who reads every record at more
than one school chooses a school or the whole trust (summed, with a line per school); a school they may not
report on, or one that does not exist, is a 404 and never a 500."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from flask import Flask

from home_visits.extension import state

from ..trust import make_trust_app, signed_in, visit_factory

RANGE = "start=2026-03-01&end=2026-03-31"


@pytest.fixture
def trust(tmp_path: Path) -> Flask:
    app = make_trust_app(tmp_path / "instance")
    make = visit_factory(app)
    make("north", pupil="Nora Northmark")
    make("south", pupil="Sam Southmark")
    make("south", pupil="Sue Southmark")
    yield app
    state(app).engine.dispose()


def _csv(app: Flask, user: str, query: str) -> list[dict[str, str]]:
    response = signed_in(app, user).get(f"/home-visits/reports.csv?{RANGE}&names=y{query}")
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_an_approver_reports_on_their_own_school_only(trust: Flask) -> None:
    page = signed_in(trust, "noor").get(f"/home-visits/reports?{RANGE}").get_data(as_text=True)
    assert "1 visit from" in page and "North Primary" in page and "South Academy" not in page
    assert 'name="school"' not in page  # one school: nothing to choose
    rows = _csv(trust, "noor", "")
    assert [row["pupil"] for row in rows] == ["Nora Northmark"] and rows[0]["school"] == "North Primary"
    assert "Southmark" not in signed_in(trust, "noor").get(f"/home-visits/reports.csv?{RANGE}&names=y").get_data(
        as_text=True)


def test_a_school_they_may_not_report_on_or_that_does_not_exist_is_404(trust: Flask) -> None:
    noor = signed_in(trust, "noor")
    for school in ("south", "trust", "nowhere", "x" * 500, "north\x00"):
        for path in ("reports", "reports.csv"):
            assert noor.get(f"/home-visits/{path}?{RANGE}&school={school}").status_code == 404, (path, school)
    assert signed_in(trust, "tom").get(f"/home-visits/reports?{RANGE}&school=nowhere").status_code == 404
    assert signed_in(trust, "noor").get(f"/home-visits/reports?{RANGE}&school=north").status_code == 200


def test_nobody_who_reads_every_record_anywhere_gets_403(trust: Flask) -> None:
    for user in ("nell", "nina", "tara", "sue"):
        assert signed_in(trust, user).get(f"/home-visits/reports?{RANGE}").status_code == 403, user
        assert signed_in(trust, user).get(f"/home-visits/reports.csv?{RANGE}").status_code == 403, user


def test_the_trust_chooses_a_school_or_the_whole_trust_with_a_line_per_school(trust: Flask) -> None:
    tom = signed_in(trust, "tom")
    whole = tom.get(f"/home-visits/reports?{RANGE}").get_data(as_text=True)
    assert 'name="school"' in whole and ">Whole trust<" in whole
    assert "3 visits from" in whole and "<td>North Primary</td><td>1</td>" in whole
    assert "<td>South Academy</td><td>2</td>" in whole
    south = tom.get(f"/home-visits/reports?{RANGE}&school=south").get_data(as_text=True)
    assert "2 visits from" in south and "<td>North Primary</td>" not in south
    assert 'school=south' in south  # the CSV link keeps the choice
    assert sorted(row["pupil"] for row in _csv(trust, "tom", "&school=south")) == ["Sam Southmark", "Sue Southmark"]
    assert len(_csv(trust, "tom", "&school=trust")) == 3 and len(_csv(trust, "tom", "")) == 3
