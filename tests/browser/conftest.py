"""Browser test harness: the demo portal in a real threaded WSGI server, driven by Debian's Chromium.

* ``handbook_site`` builds the MkDocs handbook ONCE per session (it takes seconds) into a tmp dir;
  every portal points ``HOME_VISITS_HANDBOOK_DIR`` at it.
* ``start_portal(seed=...)`` starts a fresh portal (fresh instance dir, so its own SQLite file and
  secret key) under waitress on a free loopback port; it is shut down when the test ends.
  ``seeded_portal`` is one seeded portal shared by a whole module.
* ``browser`` is a session-wide headless Chromium (``/usr/bin/chromium``; never ``playwright install``).
  ``new_page(portal)`` opens a page in a fresh browser context (its own cookies: one user each);
  ``page_as(user)`` is one logged-in page per user on ``seeded_portal`` for a whole module (look-only tests).
  Any 5xx answer, or exception in the app, fails the test.
* ``login(page, username)`` and ``assert_no_axe_violations(page)`` (axe at both widths) are plain helpers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ..load.portal import Waitress, collect_errors
from .three_visits import seed_three_visits

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Every demo account's password (demo_portal/users.py).
PASSWORD = "home-visits-demo"
#: Milliseconds any single Playwright action or navigation may take before the test fails.
TIMEOUT_MS = 10_000


# --------------------------------------------------------------------------- helpers


def login(page: Any, username: str, password: str = PASSWORD) -> None:
    """Log in through the portal's own login form and wait for the home page."""
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    if "/login" in page.url:
        errors = page.locator(".error").all_inner_texts()
        raise AssertionError(f"could not log in as {username!r}: {errors or 'no message shown'}")


#: The two widths every page is checked at: a laptop and a small phone.
AXE_VIEWPORTS = ({"width": 1280, "height": 800}, {"width": 360, "height": 740})


def _settle(page: Any) -> None:
    """Let the page finish reacting to a new size: two frames for its styles, then its transitions (the
    handbook's menu slides away below 76 em; axe would otherwise read its text half faded)."""
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    page.wait_for_function("() => document.getAnimations().every(a => a.playState !== 'running')")


def assert_no_axe_violations(page: Any, *, what: str = "", known: Mapping[str, str] | None = None) -> None:
    """Run axe-core (shipped inside axe_playwright_python: no network) on the page as it is now, at
    1280 x 800 and at 360 x 740 (the page is resized, then given back its own size).

    ``known`` maps axe rule ids to the reported bug that causes them: a page whose only violations
    are known ones is marked xfail (with the fix in the reason) instead of failing; anything else fails.
    """
    from axe_playwright_python.sync_playwright import Axe

    own = page.viewport_size
    reports: list[str] = []
    rules: set[str] = set()
    try:
        for size in AXE_VIEWPORTS:
            page.set_viewport_size(size)
            _settle(page)
            results = Axe().run(page)
            if results.violations_count:
                reports.append(f"at {size['width']} x {size['height']}:\n{results.generate_report()}")
                rules |= {violation["id"] for violation in results.response["violations"]}
    finally:
        if own:
            page.set_viewport_size(own)
    if not reports:
        return
    report = "\n".join(reports)
    print(report)
    if known and rules <= known.keys():
        pytest.xfail(f"known axe-core violations on {what or page.url}: " + " | ".join(known[r] for r in sorted(rules)))
    pytest.fail(f"axe-core violations on {what or page.url}:\n{report}")


# --------------------------------------------------------------------------- the handbook


@dataclass
class Handbook:
    site: Path
    error: str | None = None

    def require(self) -> None:
        """Fail (not skip: a broken handbook is a bug) if the session's build did not work."""
        if self.error:
            pytest.fail(f"The handbook did not build, so its pages cannot be checked:\n{self.error}")


@pytest.fixture(scope="session")
def handbook_site(tmp_path_factory: pytest.TempPathFactory) -> Handbook:
    """Build the handbooks once for the whole session, exactly as the demo portal builds them: one per
    school of the demo trust, each from its own policy. ``site`` is the first school's (staff's own)."""
    from demo_portal.app import POLICIES, SCHOOLS
    from demo_portal.handbook import ensure_handbooks

    root = tmp_path_factory.mktemp("handbook") / "site"
    config = {"HOME_VISITS_HANDBOOK_DIR": str(root), "HOME_VISITS_POLICY": str(POLICIES / "trust.yaml"),
              "HOME_VISITS_SCHOOLS": SCHOOLS}
    site = root / SCHOOLS[0]["id"]
    if not ensure_handbooks(config, str(root)):
        return Handbook(site, f"a school's handbook did not build into {root} (the log says which)")
    if not (site / "index.html").exists():
        return Handbook(site, f"no index.html in {site} (is mkdocs.yml missing?)")
    return Handbook(site)


# --------------------------------------------------------------------------- the portal under waitress


@dataclass
class Portal:
    """A running demo portal: ``url`` is its base URL, ``app`` the Flask app."""

    app: Any
    server: Waitress
    instance: Path
    errors: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def stop(self) -> None:
        from home_visits.extension import state

        self.server.stop()
        state(self.app).engine.dispose()


def _start_portal(instance: Path, handbook: Handbook, *, seed: bool, **config: Any) -> Portal:
    from demo_portal import create_app

    app = create_app(
        {
            "DEMO_SEED": False,  # the tests' own three visits instead (below)
            # Built once per session by ``handbook_site``; never rebuilt per app.
            "DEMO_BUILD_HANDBOOK": False,
            "HOME_VISITS_HANDBOOK_DIR": str(handbook.site.parent),
            **config,
        },
        instance_path=str(instance),
    )
    if seed:
        seed_three_visits(app)
    server = Waitress(app, threads=4)
    app.config["HOME_VISITS_PUBLIC_URL"] = server.url  # as the README's deployment section says to set
    return Portal(app, server, instance, collect_errors(app))


@pytest.fixture(scope="session", autouse=True)
def _quiet_waitress() -> None:
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


@pytest.fixture
def start_portal(
    tmp_path_factory: pytest.TempPathFactory, handbook_site: Handbook
) -> Iterator[Callable[..., Portal]]:
    """Start a fresh portal (own instance dir and database) for this test; stopped afterwards."""
    portals: list[Portal] = []

    def start(*, seed: bool = False, **config: Any) -> Portal:
        portal = _start_portal(tmp_path_factory.mktemp("instance"), handbook_site, seed=seed, **config)
        portals.append(portal)
        return portal

    yield start
    for portal in portals:
        portal.stop()
    for portal in portals:
        assert not portal.errors, f"the portal raised while serving: {portal.errors}"


@pytest.fixture(scope="module")
def seeded_portal(tmp_path_factory: pytest.TempPathFactory, handbook_site: Handbook) -> Iterator[Portal]:
    """One portal with the three demo visits (draft, awaiting authorisation, authorised) per module."""
    portal = _start_portal(tmp_path_factory.mktemp("instance"), handbook_site, seed=True)
    yield portal
    portal.stop()
    assert not portal.errors, f"the portal raised while serving: {portal.errors}"


# --------------------------------------------------------------------------- Chromium through Playwright


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        reason = (
            f"!!! BROWSER TESTS NOT RUN: {CHROMIUM} is missing. Install Debian's Chromium "
            "(`apt-get install chromium`); never `playwright install`."
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


def _open_page(browser: Any, portal: Portal, contexts: list[Any], server_errors: list[str], **options: Any) -> Any:
    options = {"locale": "en-GB", "timezone_id": "Europe/London", **options}
    context = browser.new_context(base_url=portal.url, **options)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    contexts.append(context)
    page = context.new_page()
    page.on("response", lambda r: server_errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    return page


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """``new_page(portal, **context_options)``: a page in a fresh context (own cookies and storage)
    whose relative URLs go to ``portal``.

    Any 5xx answer a page receives fails the test.
    """
    contexts: list[Any] = []
    server_errors: list[str] = []
    yield lambda portal, **options: _open_page(browser, portal, contexts, server_errors, **options)
    for context in contexts:
        context.close()
    assert not server_errors, f"the server answered with errors: {server_errors}"


@pytest.fixture(scope="module")
def page_as(browser: Any, seeded_portal: Portal) -> Iterator[Callable[[str | None], Any]]:
    """``page_as(user)``: a page on ``seeded_portal``, logged in as ``user`` (``None``: nobody).

    One browser context per user for the whole module, logged in once: for tests that only look.
    """
    contexts: list[Any] = []
    server_errors: list[str] = []
    pages: dict[str | None, Any] = {}

    def page_for(user: str | None) -> Any:
        if user not in pages:
            pages[user] = _open_page(browser, seeded_portal, contexts, server_errors)
            if user is not None:
                login(pages[user], user)
        assert not server_errors, f"the server answered with errors: {server_errors}"
        return pages[user]

    yield page_for
    for context in contexts:
        context.close()
    assert not server_errors, f"the server answered with errors: {server_errors}"
