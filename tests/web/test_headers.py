"""Security headers on the plugin's pages: a CSP with no inline script, nosniff, no framing, a referrer
policy; the host can loosen or replace them by config; the host's own pages are left alone; and the
templates need nothing the policy forbids (``browser/test_security_headers.py`` checks it in Chromium)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

import home_visits
from home_visits.web.guards import DEFAULTS, security_headers

from ..conftest import make_app

PLUGIN_TEMPLATES = Path(home_visits.__file__).with_name("templates")
DEMO_TEMPLATES = Path(home_visits.__file__).parent.parent / "demo_portal" / "templates"


def directives(csp: str) -> dict[str, str]:
    return {part.split()[0]: part.strip() for part in csp.split(";") if part.strip()}


# --------------------------------------------------------------------------- the pure function


def test_the_defaults_forbid_inline_script_framing_and_sniffing() -> None:
    found = security_headers()
    csp = directives(found["Content-Security-Policy"])
    assert csp["script-src"] == "script-src 'self'"
    assert csp["frame-ancestors"] == "frame-ancestors 'none'"
    assert csp["object-src"] == "object-src 'none'"
    assert "unsafe-inline" not in found["Content-Security-Policy"]
    assert "unsafe-eval" not in found["Content-Security-Policy"]
    assert found["X-Content-Type-Options"] == "nosniff"
    assert found["Referrer-Policy"] == "same-origin"
    assert found["X-Frame-Options"] == "DENY"


def test_config_replaces_adds_and_removes_headers_whatever_the_case() -> None:
    found = security_headers({
        "content-security-policy": "default-src 'self' https://cdn.school.example",
        "X-Frame-Options": None,
        "Permissions-Policy": "geolocation=()",
    })
    assert found == {
        "content-security-policy": "default-src 'self' https://cdn.school.example",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
        "Permissions-Policy": "geolocation=()",
    }
    assert security_headers({}) == DEFAULTS and security_headers(None) == DEFAULTS
    assert DEFAULTS["X-Frame-Options"] == "DENY", "the defaults must not change when a host overrides them"


@pytest.mark.parametrize("bad", [{"X-Frame-Options": 1}, {"Referrer-Policy": "no-referrer\r\nSet-Cookie: a=b"}])
def test_a_bad_setting_stops_the_app_starting(tmp_path: Path, bad: dict[str, Any]) -> None:
    with pytest.raises((TypeError, ValueError), match="HOME_VISITS_SECURITY_HEADERS"):
        make_app(tmp_path / "instance", HOME_VISITS_SECURITY_HEADERS=bad)


# --------------------------------------------------------------------------- on the plugin's responses


def assert_defaults(response: Any, **except_: str) -> None:
    for name, value in {**DEFAULTS, **except_}.items():
        assert response.headers.get(name) == value, f"{response.request.path}: {name} is {response.headers.get(name)!r}"


def test_plugin_pages_carry_the_headers(login: Any, create_visit: Any) -> None:
    visit = create_visit(state_="submitted")
    client = login("alex")
    for path in ("/home-visits/", "/home-visits/new", f"/home-visits/{visit.id}", "/home-visits/approvals",
                 "/home-visits/dashboard", "/home-visits/static/copy.js"):
        response = client.get(path)
        assert response.status_code == 200, path
        # Static files keep the cache header Flask gives them; every page is no-store.
        assert_defaults(response, **({"Cache-Control": "no-cache"} if "/static/" in path else {}))


def test_refusals_and_errors_from_the_plugin_carry_them_too(client: Any, login: Any) -> None:
    assert_defaults(client.get("/home-visits/"))  # 401: nobody signed in
    assert client.get("/home-visits/").status_code == 401
    response = login("sam").get("/home-visits/999")
    assert response.status_code == 404
    assert_defaults(response)
    assert_defaults(login("sam").get("/home-visits/dashboard"))  # 403
    assert_defaults(login("sam").post("/home-visits/new", data={"pupil": "x" * 200}))  # 422


def test_the_subscribe_page_keeps_its_own_no_referrer(login: Any) -> None:
    client = login("alex")
    for response in (client.get("/home-visits/calendar/"), client.post("/home-visits/calendar/", data={"create": "1"})):
        assert response.status_code == 200
        assert response.headers.get_all("Referrer-Policy") == ["no-referrer"]
        assert_defaults(response, **{"Referrer-Policy": "no-referrer"})


def test_the_feed_carries_nosniff(app: Flask, login: Any) -> None:
    page = login("alex").post("/home-visits/calendar/", data={"create": "1"}).get_data(as_text=True)
    path = re.search(r'value="http://localhost(/home-visits/calendar/[^"]+\.ics)"', page)[1]  # type: ignore[index]
    response = app.test_client().get(path)
    assert response.status_code == 200 and response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_hosts_own_pages_are_left_alone(app: Flask) -> None:
    app.add_url_rule("/host-page", "host_page", lambda: "the host's page")
    response = app.test_client().get("/host-page")
    assert response.status_code == 200
    for name in DEFAULTS:
        assert name not in response.headers, name
    assert "Content-Security-Policy" not in app.test_client().get("/no-such-page").headers


def test_a_host_loosens_them_by_config(tmp_path: Path) -> None:
    app = make_app(tmp_path / "instance", HOME_VISITS_SECURITY_HEADERS={
        "Content-Security-Policy": "default-src 'self' https://cdn.school.example; frame-ancestors 'self'",
        "X-Frame-Options": None,
        "Referrer-Policy": "strict-origin-when-cross-origin",
    })
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "sam"
    response = client.get("/home-visits/")
    assert response.headers["Content-Security-Policy"] == (
        "default-src 'self' https://cdn.school.example; frame-ancestors 'self'"
    )
    assert "X-Frame-Options" not in response.headers
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # The Subscribe page still keeps its own stricter policy.
    assert client.get("/home-visits/calendar/").headers["Referrer-Policy"] == "no-referrer"


def test_the_plugin_follows_a_host_that_nests_it_under_its_own_prefix(tmp_path: Path) -> None:
    app = make_app(tmp_path / "instance", HOME_VISITS_URL_PREFIX="/staff/visits")
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "sam"
    response = client.get("/staff/visits/")
    assert response.status_code == 200
    assert_defaults(response)


# --------------------------------------------------------------------------- what the policy needs of the templates

INLINE = {
    "an inline <script> (no src)": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "a <style> block": re.compile(r"<style\b", re.I),
    "a style= attribute": re.compile(r"\sstyle\s*=", re.I),
    "an event-handler attribute (onclick= ...)": re.compile(r"\son[a-z]+\s*=", re.I),
    "a javascript: URL": re.compile(r"javascript:", re.I),
}


@pytest.mark.parametrize(
    "template",
    sorted([*PLUGIN_TEMPLATES.rglob("*.html"), *DEMO_TEMPLATES.glob("*.html")]),
    ids=lambda path: f"{path.parent.name}/{path.name}",
)
def test_templates_need_no_inline_script_or_style(template: Path) -> None:
    source = template.read_text()
    found = [what for what, pattern in INLINE.items() if pattern.search(source)]
    assert not found, f"{template}: {', '.join(found)}; the policy's script-src/style-src 'self' blocks it"
