"""Append-only audit, retention purge, subject-access export and SLT reports."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from home_visits.extension import state
from home_visits.models import AuditEntry, AuditImmutable, Base, PurgeEntry, Visit

from ..conftest import NOW, Inbox
from ..records.test_records import record_form

PLUGIN = Path(__file__).resolve().parents[2] / "plugin" / "home_visits"
#: Tables that hold no pupil's data (settings, tokens, job runs, purge counts).
NOT_ABOUT_A_PUPIL = {"home_visits_feed_token", "home_visits_change", "home_visits_job", "home_visits_purge",
                     "home_visits_preference", "home_visits_channel_health",
                     # webhook deliveries: a status and an id, no content (what went is in the visit's history)
                     "home_visits_channel_message"}


@pytest.fixture
def app(mail_app: Flask) -> Flask:
    return mail_app


def full_life(app: Flask, login: Any, create_visit: Any, clock: Any, *, pupil: str, lead: str = "sam",
              start: datetime | None = None) -> Visit:
    """A visit taken through everything: authorised, out, overdue and alerted, back, recorded,
    corrected, confirmed, opened."""
    start = start or datetime(2026, 3, 4, 10, 0, tzinfo=timezone.utc)
    clock.now = start - timedelta(days=2)
    visit = create_visit(state_="submitted", lead=lead, pupil=pupil, starts_at=start,
                         expected_return=start + timedelta(hours=1))
    login("alex").post(f"/home-visits/{visit.id}/decide",  # emails the staff
                       data={"authorise": "Authorise", "version": str(visit.version)})
    clock.now = start - timedelta(hours=2)
    app.test_cli_runner().invoke(args=["home-visits", "digest"])  # the office's morning digest names it
    clock.now = start
    login(lead).post(f"/home-visits/{visit.id}/check-out")
    clock.now = start + timedelta(hours=1, minutes=20)
    app.test_cli_runner().invoke(args=["home-visits", "escalate"])
    login(lead).post(f"/home-visits/{visit.id}/check-in")
    day = start.strftime("%Y-%m-%d")
    login(lead).post(f"/home-visits/{visit.id}/record", data=record_form(
        day=day, started="10:05", ended="10:50", submit="Submit", **{"actions-0-due": day}))
    login(lead).post(f"/home-visits/{visit.id}/record/correct",
                     data={"field": "points", "text": "Also uniform.", "reason": "Forgot"})
    login("jo").post(f"/home-visits/{visit.id}/record/confirm", data={"comment": "Agreed"})
    login("alex").get(f"/home-visits/{visit.id}/record")
    return visit


def test_audit_rows_cannot_be_changed_or_deleted_through_the_orm(app: Flask, create_visit: Any) -> None:
    visit = create_visit()
    with state(app).sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.visit_id == visit.id)).first()
        entry.comment = "rewritten history"
        with pytest.raises(AuditImmutable):
            session.commit()
        session.rollback()
        session.delete(session.get(AuditEntry, entry.id))
        with pytest.raises(AuditImmutable):
            session.commit()


def test_no_code_path_updates_or_deletes_audit_rows() -> None:
    """Only the retention purge deletes (whole visits, with their history); nothing updates."""
    offenders = []
    for path in PLUGIN.rglob("*.py"):
        text = path.read_text()
        if re.search(r"update\(\s*(AuditEntry|[\"']home_visits_audit)", text) or "UPDATE home_visits_audit" in text:
            offenders.append(f"{path.name}: updates audit rows")
        if path.name != "retention.py" and re.search(r"\bdelete\(", text):
            offenders.append(f"{path.name}: deletes rows")
    assert offenders == []


def test_purge_dry_run_lists_and_the_real_run_removes_only_old_visits(
    app: Flask, login: Any, create_visit: Any, clock: Any
) -> None:
    old = full_life(app, login, create_visit, clock, pupil="Old Pupil",
                    start=datetime(2018, 3, 5, 10, tzinfo=timezone.utc))
    recent = full_life(app, login, create_visit, clock, pupil="Recent Pupil")
    clock.now = NOW
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["home-visits", "purge", "--dry-run"])
    assert f"visit {old.id}: 2018-03-05, O.P., recorded" in dry.output
    assert "1 visits are older than 7 years" in dry.output
    with state(app).sessions() as session:
        assert session.get(Visit, old.id) is not None
    real = runner.invoke(args=["home-visits", "purge"])
    assert real.exit_code == 0 and "Removed 1 visits older than 7 years" in real.output
    with state(app).sessions() as session:
        assert session.get(Visit, old.id) is None and session.get(Visit, recent.id) is not None
        for table in Base.metadata.sorted_tables:
            if "visit_id" in table.c:
                assert not session.execute(select(table).where(table.c.visit_id == old.id)).first(), table.name
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.visit_id == recent.id)) > 5
        (line,) = session.scalars(select(PurgeEntry)).all()
        assert (line.visits, line.at) == (1, NOW)


def test_retention_years_can_be_set_in_config(app: Flask, login: Any, create_visit: Any, clock: Any) -> None:
    full_life(app, login, create_visit, clock, pupil="Some Pupil", start=datetime(2024, 3, 5, 10, tzinfo=timezone.utc))
    clock.now = NOW
    app.config["HOME_VISITS_RETENTION_YEARS"] = 1
    assert "Removed 1 visits older than 1 years" in app.test_cli_runner().invoke(args=["home-visits", "purge"]).output


def test_subject_access_export_holds_everything_about_one_pupil(
    app: Flask, login: Any, create_visit: Any, clock: Any, tmp_path: Path, smtp_server: Inbox
) -> None:
    mine = full_life(app, login, create_visit, clock, pupil="Jamie Smith")
    full_life(app, login, create_visit, clock, pupil="Other Child", lead="kim",
              start=datetime(2026, 3, 5, 10, tzinfo=timezone.utc))
    every = {table.name for table in Base.metadata.sorted_tables}
    held: dict[str, int] = {}
    with state(app).sessions() as session:
        records = Base.metadata.tables["home_visits_record"]
        record_id = session.scalar(select(records.c.id).where(records.c.visit_id == mine.id))
        for name in every - NOT_ABOUT_A_PUPIL:
            table = Base.metadata.tables[name]
            if name == "home_visits_visit":
                condition = table.c.id == mine.id
            elif "visit_id" in table.c:
                condition = table.c.visit_id == mine.id
            else:
                condition = table.c.record_id == record_id
            held[name] = session.scalar(select(func.count()).select_from(table).where(condition))
            assert held[name] > 0, f"the test seeded nothing in {name}"
    result = app.test_cli_runner().invoke(args=["home-visits", "export", "--pupil", " jamie  SMITH",
                                                "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    export = json.loads((tmp_path / "home-visits-jamie-smith.json").read_text())
    tables = export["tables"]
    assert set(tables) | NOT_ABOUT_A_PUPIL == every, "a table is neither exported nor declared free of pupil data"
    assert {name: len(rows) for name, rows in tables.items()} == held
    assert all(row.get("visit_id", mine.id) == mine.id for rows in tables.values() for row in rows)
    assert [row["pupil"] for row in tables["home_visits_visit"]] == ["Jamie Smith"]
    page = (tmp_path / "home-visits-jamie-smith.html").read_text()
    # A document a family can read: the child's name as the school wrote it, each visit in words, no ids.
    assert "holds about Jamie Smith</h1>" in page and "Jamie was dressed and ready" in page
    assert "Home visit on Wednesday 04 March 2026, 10:00 to 11:00" in page
    for words in ("What happened to the plan</dt><dd>Recorded", "Staff visiting</dt><dd>Sam Patel",
                  "What staff wrote after the visit", "What happened, step by step", "authorised the plan"):
        assert words in page, words
    for internal in ("home_visits_", "lead_id", "tier-", "checked_out", "pupil_key", "visit_id", f">{mine.id}<"):
        assert internal not in page, internal
    assert "Other Child" not in page


def test_reports_count_and_the_csv_hides_names_unless_asked(app: Flask, login: Any, create_visit: Any,
                                                            clock: Any) -> None:
    full_life(app, login, create_visit, clock, pupil="=HYPERLINK(\"x\")")
    clock.now = NOW
    create_visit(state_="declined", pupil="Riley Example")
    query = "start=2026-03-01&end=2026-03-31"
    assert login("sam").get(f"/home-visits/reports?{query}").status_code == 403
    page = login("alex").get(f"/home-visits/reports?{query}").get_data(as_text=True)
    assert "2 visits from 01 Mar 2026 to 31 Mar 2026" in page
    assert "Authorised: 1" in page and "Declined: 1" in page
    assert "Escalated (an overdue or urgent alert was sent): 1" in page
    csv_text = login("alex").get(f"/home-visits/reports.csv?{query}").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert [r["pupil"] for r in rows] == ["H.X.", "R.E."] and rows[0]["escalated"] == "yes"
    assert rows[0]["outcome"] == "The visit took place" and rows[1]["declined"] == "yes"
    named = list(csv.DictReader(io.StringIO(
        login("alex").get(f"/home-visits/reports.csv?{query}&names=y").get_data(as_text=True))))
    assert [r["pupil"] for r in named] == ["'=HYPERLINK(\"x\")", "Riley Example"]  # no formula runs in Excel
    bad = login("alex").get("/home-visits/reports?start=2026-03-31&end=2026-03-01")
    assert bad.status_code == 422 and "must not be before the first" in bad.get_data(as_text=True)
    assert login("alex").get("/home-visits/reports.csv?start=nonsense&end=2026-03-01").status_code == 422
