"""Pages with personal data are never cached, files are written owner-only, numbers in a URL are bounded
before they are parsed, the same "New plan" form posted twice makes one draft, and an edit must say
which version it was made on."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from home_visits.extension import state
from home_visits.models import Visit

from ..conftest import form_data, make_app
from ..records.test_record_content import PAGES, planted  # noqa: F401  (the fixture)

BIG = "9" * 5000


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_pages_and_downloads_with_personal_data_are_never_stored(planted: Any) -> None:  # noqa: F811
    app, (visit_id, later_id) = planted
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "sam"
    for page in ("record", "cpoms", "cpoms_text", "visit", "my_visits", "like", "card"):
        response = client.get(PAGES[page](visit_id, later_id))
        assert response.status_code == 200, page
        assert "no-store" in response.headers.get("Cache-Control", ""), page
    link = client.post("/home-visits/calendar/", data={"create": "Create my calendar link"})
    assert "/calendar/" in link.get_data(as_text=True) and "no-store" in link.headers["Cache-Control"]
    approver = app.test_client()
    with approver.session_transaction() as session:
        session["_user_id"] = "blair"
    csv = approver.get(PAGES["reports_csv"](visit_id, later_id))
    assert csv.status_code == 200 and "no-store" in csv.headers["Cache-Control"]
    token = re.search(r"/calendar/([A-Za-z0-9_-]{20,})\.ics", link.get_data(as_text=True))[1]
    feed = app.test_client().get(f"/home-visits/calendar/{token}.ics")
    assert feed.headers["Cache-Control"] == "private, no-cache"  # revalidated by ETag, as before


def test_the_database_its_folder_and_exports_are_owner_only(tmp_path: Path, create_visit: Any) -> None:
    old = os.umask(0o022)
    try:
        app = make_app(tmp_path / "fresh", HOME_VISITS_DATABASE_URI=None)
        with state(app).sessions() as session:
            session.execute(select(func.count()).select_from(Visit))
        assert mode(tmp_path / "fresh") == 0o700
        assert mode(tmp_path / "fresh" / "home_visits.sqlite") == 0o600
        result = app.test_cli_runner().invoke(args=["home-visits", "export", "--pupil", "Jamie Smith",
                                                    "--out", str(tmp_path / "sar")])
        assert result.exit_code == 0, result.output
        assert mode(tmp_path / "sar") == 0o700
        assert {mode(p) for p in (tmp_path / "sar").iterdir()} == {0o600}
        published = app.test_cli_runner().invoke(args=["home-visits", "publish", "--out",
                                                       str(tmp_path / "cal" / "visits.ics")])
        assert published.exit_code == 0, published.output
        assert mode(tmp_path / "cal" / "visits.ics") == 0o600
        state(app).engine.dispose()
    finally:
        os.umask(old)


def test_a_setting_can_loosen_the_file_modes(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        app = make_app(tmp_path / "shared", HOME_VISITS_DATABASE_URI=None, HOME_VISITS_FILE_MODE=0o640,
                       HOME_VISITS_DIRECTORY_MODE=0o750)
        assert (mode(tmp_path / "shared"), mode(tmp_path / "shared" / "home_visits.sqlite")) == (0o750, 0o640)
        state(app).engine.dispose()
    finally:
        os.umask(old)


@pytest.mark.parametrize("path", [
    f"/home-visits/{BIG}", f"/home-visits/{BIG}/edit", f"/home-visits/{BIG}/record", f"/home-visits/{BIG}/card",
    f"/home-visits/?page={BIG}", f"/home-visits/?scope=all&page={BIG}", f"/home-visits/approvals?page={BIG}",
    f"/home-visits/new?like={BIG}",
], ids=lambda path: path.replace(BIG, "<5000 digits>"))
def test_a_5000_digit_number_in_a_url_is_a_clean_4xx(login: Any, path: str) -> None:
    response = login("alex").get(path)
    assert 400 <= response.status_code < 500


@pytest.mark.parametrize("path", [f"/home-visits/actions/{BIG}/done", f"/home-visits/{BIG}/decide",
                                  f"/home-visits/{BIG}/check-out"], ids=lambda path: path.replace(BIG, "<5000 digits>"))
def test_a_5000_digit_number_in_a_post_url_is_a_clean_4xx(login: Any, path: str) -> None:
    assert 400 <= login("alex").post(path).status_code < 500


def test_a_5000_digit_version_is_a_clean_4xx(login: Any, create_visit: Any) -> None:
    visit = create_visit(state_="submitted")
    assert login("sam").post(f"/home-visits/{visit.id}/edit", data=form_data(version=BIG, save="Save")).status_code \
        == 409
    assert login("alex").post(f"/home-visits/{visit.id}/decide",
                              data={"authorise": "Authorise", "version": BIG}).status_code == 409


def test_the_same_new_plan_form_posted_twice_makes_one_draft(app: Flask, login: Any) -> None:
    client = login("sam")
    page = client.get("/home-visits/new").get_data(as_text=True)
    token = re.search(r'name="form_token" type="hidden" value="([^"]+)"', page)[1]
    first = client.post("/home-visits/new", data=form_data(form_token=token, save="Save draft"))
    second = client.post("/home-visits/new", data=form_data(form_token=token, save="Save draft"))
    assert first.status_code == second.status_code == 302
    assert first.location == second.location
    assert "already saved" in client.get(second.location).get_data(as_text=True)
    with state(app).sessions() as session:
        assert session.scalar(select(func.count()).select_from(Visit)) == 1
    other = re.search(r'name="form_token" type="hidden" value="([^"]+)"',
                      client.get("/home-visits/new").get_data(as_text=True))[1]
    assert other != token


def test_another_persons_form_token_is_a_4xx_that_says_nothing_of_their_draft(app: Flask, login: Any) -> None:
    """Sam's plan form's token posted by Jo: Jo is not shown Sam's plan nor told one exists; Jo's answers
    come back on a fresh form (a new token), which then saves."""
    sams = re.search(r'name="form_token" type="hidden" value="([^"]+)"', login("sam").get("/home-visits/new")
                     .get_data(as_text=True))[1]
    assert login("sam").post("/home-visits/new", data=form_data(form_token=sams, save="Save draft")).status_code == 302
    jo = login("jo")
    refused = jo.post("/home-visits/new", data=form_data(form_token=sams, pupil="Robin Jolist", second_staff_id="sam",
                                                         save="Save draft"))
    page = refused.get_data(as_text=True)
    assert refused.status_code == 409, refused.status_code
    assert "Robin Jolist" in page and "Jamie Smith" not in page and "already saved" not in page
    fresh = re.search(r'name="form_token" type="hidden" value="([^"]+)"', page)[1]
    assert fresh != sams
    with state(app).sessions() as session:
        assert session.scalar(select(func.count()).select_from(Visit)) == 1
    saved = jo.post("/home-visits/new", data=form_data(form_token=fresh, pupil="Robin Jolist", second_staff_id="sam",
                                                        save="Save draft"))
    assert saved.status_code == 302
    with state(app).sessions() as session:
        assert session.scalar(select(func.count()).select_from(Visit).where(Visit.lead_id == "jo")) == 1


def test_an_edit_without_its_version_is_refused(app: Flask, login: Any, create_visit: Any) -> None:
    visit = create_visit()
    response = login("sam").post(f"/home-visits/{visit.id}/edit", data=form_data(purpose="Changed", save="Save"))
    assert response.status_code == 409 and "changed this plan since you opened it" in response.get_data(as_text=True)
    with state(app).sessions() as session:
        assert session.get(Visit, visit.id).purpose != "Changed"


@pytest.mark.parametrize("name", ["actions-{n}-what", "present-{n}-name", "observations-{n}-text"])
def test_a_5000_digit_row_number_in_the_record_form_is_a_clean_answer(app: Flask, login: Any, create_visit: Any,
                                                                      clock: Any, name: str) -> None:
    visit = create_visit(state_="authorised")
    clock.now = visit.starts_at
    client = login("sam")
    client.post(f"/home-visits/{visit.id}/check-out")
    client.post(f"/home-visits/{visit.id}/check-in")
    response = client.post(f"/home-visits/{visit.id}/record", data={name.format(n=BIG): "x", "save": "Save"})
    assert response.status_code in (302, 422)
