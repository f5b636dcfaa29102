"""Every POST route of the plugin (from the URL map) refuses a request without a valid CSRF token:
400, and nothing in the database changes. The same request with the page's token then succeeds, so
the 400 is the token's doing and not some other refusal."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, url_for
from sqlalchemy import text

from home_visits.extension import state
from home_visits.models import Base

from ..conftest import free_port, make_app
from ..test_access_matrix import (
    EXPECTED,
    ROLES,
    URL_VALUES,
    WHO,
    Cell,
    make_visit,
    other_staff,
    plugin_routes,
    routes_of,
)

__all__ = ["other_staff"]  # the matrix's autouse fixture: adds its extra member of staff here too

POST_ROUTES = [endpoint for endpoint, method in plugin_routes() if method == "POST"]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """The test host with CSRF protection on, as in any real portal."""
    app = make_app(tmp_path / "instance", WTF_CSRF_ENABLED=True, HOME_VISITS_SMTP_HOST="127.0.0.1",
                   HOME_VISITS_SMTP_PORT=free_port(), HOME_VISITS_SMTP_TIMEOUT=2)
    yield app
    state(app).engine.dispose()


def snapshot(app: Flask) -> dict[str, list[Any]]:
    """Every row of every plugin table."""
    with state(app).engine.connect() as connection:
        return {
            table.name: sorted(map(repr, connection.execute(text(f"SELECT * FROM {table.name}")).all()))
            for table in Base.metadata.sorted_tables
        }


def test_there_are_post_routes_to_check() -> None:
    assert {"home_visits.new_plan", "home_visits.decide", "home_visits.check_out"} <= set(POST_ROUTES)


@pytest.mark.parametrize("endpoint", POST_ROUTES, ids=lambda value: value.removeprefix("home_visits."))
def test_a_post_without_a_valid_token_is_refused_and_changes_nothing(
    app: Flask, create_visit: Any, endpoint: str
) -> None:
    assert (endpoint, "POST") in routes_of(app)
    expect = EXPECTED.get(endpoint, {}).get("POST")
    if expect is None:
        pytest.fail(f"add an entry for endpoint {endpoint} (POST) to EXPECTED in tests/test_access_matrix.py")
    # Someone the matrix says succeeds (2xx or 3xx), so only the token stands in their way.
    role = next((r for r in ROLES if WHO[r] and expect.statuses[r] < 400), None)
    assert role is not None, f"nobody may POST to {endpoint}: nothing to prove"
    visit = make_visit(app, create_visit, expect.visit) if expect.visit else None
    rule = next(rule for rule in app.url_map.iter_rules() if rule.endpoint == endpoint)
    cell = Cell(app, visit)
    values = {name: URL_VALUES[name](cell) for name in rule.arguments}
    with app.test_request_context():
        url = url_for(endpoint, **values)
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = WHO[role]
        session["_fresh"] = True
    page = client.get("/home-visits/calendar/").get_data(as_text=True)  # any page with a form
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token, "no CSRF token on the Subscribe page"
    data = expect.data(visit) if callable(expect.data) else dict(expect.data)

    before = snapshot(app)
    for label, form in (
        ("no token", data),
        ("an empty token", {**data, "csrf_token": ""}),
        ("a forged token", {**data, "csrf_token": "IjAxMjM0NTY3ODlhYmNkZWYi.aBcDeF.forged-signature"}),
        ("a token from another session", {**data, "csrf_token": other_session_token(app)}),
    ):
        response = client.post(url, data=form)
        assert response.status_code == 400, f"POST {url} with {label}: {response.status_code}"
        assert response.get_data(as_text=True).strip(), f"POST {url} with {label}: a 400 with no message"
        assert snapshot(app) == before, f"POST {url} with {label} changed the database"

    response = client.post(url, data={**data, "csrf_token": token[1]})
    assert response.status_code == expect.statuses[role], (
        f"POST {url} as {role} with the page's token: {response.status_code}, the matrix says "
        f"{expect.statuses[role]}"
    )


def other_session_token(app: Flask) -> str:
    """A token that is valid, but for somebody else's session."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "alex"
    page = client.get("/home-visits/calendar/").get_data(as_text=True)
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert found
    return found[1]
