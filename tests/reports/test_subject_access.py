"""Subject access finds every visit about a pupil however the name was typed, and what the plugin
emailed about a visit (the office's morning digest too) is exported and purged with it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from home_visits.extension import state
from home_visits.models import Notice, NoticeMention

from ..conftest import NOW


def export(app: Flask, tmp_path: Path, pupil: str) -> dict[str, Any]:
    result = app.test_cli_runner().invoke(args=["home-visits", "export", "--pupil", pupil, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (found,) = tmp_path.glob("*.json")
    data = json.loads(found.read_text())
    found.unlink()
    return data


@pytest.mark.parametrize("stored", ["Zoë Ünal", "Zoë  Ünal", "Zoë\u00a0Ünal", " ZOË ÜNAL ", "Zoe\u0308 U\u0308nal"])
@pytest.mark.parametrize("asked", ["zoë ünal", "ZOË   ÜNAL", "Zoë Ünal"])
def test_the_name_is_found_whatever_its_case_accents_or_spacing(
    app: Flask, create_visit: Any, tmp_path: Path, stored: str, asked: str
) -> None:
    create_visit(pupil=stored)
    create_visit(pupil="Zoe Unal")  # another child: accents matter
    data = export(app, tmp_path, asked)
    assert [row["pupil"] for row in data["tables"]["home_visits_visit"]] == [stored]


def test_the_pupil_reference_finds_the_visit_too(app: Flask, create_visit: Any, login: Any, tmp_path: Path) -> None:
    from ..conftest import form_data

    response = login("sam").post("/home-visits/new", data=form_data(pupil="Riley Example", pupil_ref="a123 456",
                                                                   save="Save draft"))
    assert response.status_code == 302
    create_visit(pupil="Someone Else")
    data = export(app, tmp_path, "A123456")
    assert [row["pupil"] for row in data["tables"]["home_visits_visit"]] == ["Riley Example"]
    assert "A123456" in login("sam").get(response.location).get_data(as_text=True)


def test_the_morning_digest_is_exported_and_purged_with_the_visits_it_names(
    app: Flask, create_visit: Any, clock: Any, tmp_path: Path
) -> None:
    start = datetime(2018, 3, 5, 10, tzinfo=timezone.utc)
    clock.now = start - timedelta(days=1)
    old = create_visit(state_="authorised", pupil="Old Pupil", starts_at=start,
                       expected_return=start + timedelta(hours=1),
                       address="7 Rowan Way, Exampleton")
    clock.now = start - timedelta(hours=2)
    assert app.test_cli_runner().invoke(args=["home-visits", "digest"]).exit_code == 0
    data = export(app, tmp_path, "old pupil")
    mentions = data["tables"]["home_visits_notice_mention"]
    assert len(mentions) == 1 and "7 Rowan Way, Exampleton" in mentions[0]["text"]
    with state(app).sessions() as session:
        (digest,) = session.scalars(select(Notice).where(Notice.visit_id.is_(None))).all()
        assert "7 Rowan Way" in digest.text
    clock.now = NOW
    assert "Removed 1 visits" in app.test_cli_runner().invoke(args=["home-visits", "purge"]).output
    with state(app).sessions() as session:
        assert not [n.text for n in session.scalars(select(Notice)) if "Rowan Way" in n.text]
        assert not session.scalars(select(NoticeMention)).all()
    assert old.id
