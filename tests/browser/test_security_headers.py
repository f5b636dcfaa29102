"""The security headers in Chromium: every page of a seeded portal loads with no Content-Security-Policy
violation, and the two scripts (copy.js, refresh.js) still work under the policy."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import TIMEOUT_MS, login

pytestmark = pytest.mark.browser

#: What each user opens (the seeded demo has visits 1, 2 and 3).
BROWSED = {
    "alex": ["/home-visits/", "/home-visits/new", "/home-visits/1", "/home-visits/2", "/home-visits/3",
             "/home-visits/approvals", "/home-visits/dashboard", "/home-visits/reports", "/home-visits/calendar/"],
    "office": ["/home-visits/", "/home-visits/dashboard"],
}
REPORT_VIOLATIONS = (
    "document.addEventListener('securitypolicyviolation', e => "
    "console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
)


@pytest.mark.parametrize("user", sorted(BROWSED))
def test_no_policy_violation_and_the_scripts_still_run(browser: Any, start_portal: Any, user: str) -> None:
    portal = start_portal(seed=True)
    context = browser.new_context(base_url=portal.url, permissions=["clipboard-read", "clipboard-write"])
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(REPORT_VIOLATIONS)
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda message: violations.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text or "CSP violation" in message.text else None)
    page.clock.install()  # fake timers, so refresh.js's reload can be fast-forwarded
    try:
        login(page, user)
        for path in BROWSED[user]:
            response = page.goto(path)
            assert response is not None and response.status == 200, path
            assert "script-src 'self'" in (response.headers.get("content-security-policy") or ""), path
        if user == "alex":  # copy.js works under the policy: the button answers
            page.goto("/home-visits/calendar/")
            page.get_by_role("button", name="Create my calendar link").click()
            page.get_by_role("button", name="Copy link").click()
            page.locator("button[data-copy]").filter(has_not_text="Copy link").wait_for()
        else:  # refresh.js works: the dashboard reloads itself after 30 seconds
            page.goto("/home-visits/dashboard")
            with page.expect_navigation():
                page.clock.fast_forward(31_000)
    finally:
        context.close()
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)
