"""The macros MkDocs calls: pages call these, so the policy text lives only in the policy file.

mkdocs.yml names this file to mkdocs-macros (``module_name``); ``define_env`` is its entry point. It is
loaded as a file, not as part of the package, so it imports the package's modules by their full names.
The policy comes from ``HOME_VISITS_POLICY`` when set, otherwise the shipped default.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

try:
    from home_visits.handbook import texts
except ModuleNotFoundError as exc:  # pragma: no cover - a checkout built without installing the plugin
    if exc.name != "home_visits":
        raise
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from home_visits.handbook import texts
from home_visits.handbook.tables import LIST_TITLES, PAGES, page_of, section_items, section_names
from home_visits.policy import Policy, PolicyError, load_policy


def _policy() -> Policy:
    """``HOME_VISITS_POLICY`` (else the shipped policy); a trust school's file extends the trust's in
    ``HOME_VISITS_TRUST_POLICY`` and takes its name from ``HOME_VISITS_SCHOOL_NAME`` (set by
    :func:`home_visits.handbook.site.build`)."""
    name = os.environ.get("HOME_VISITS_SCHOOL_NAME")
    return load_policy(os.environ.get("HOME_VISITS_POLICY") or None, trust=os.environ.get("HOME_VISITS_TRUST_POLICY")
                       or None, overlay={"school": {"name": name}} if name else None)


class Macros:
    """The macros pages call; ``page`` tells which page is being rendered."""

    def __init__(self, policy: Policy, page: Callable[[], str]) -> None:
        self.policy, self.page = policy, page

    def _owns(self, name: str) -> bool:
        if name not in section_names():
            raise ValueError(f"unknown policy section {name!r}; known: {', '.join(section_names())}")
        return name in PAGES.get(self.page(), [])

    def _title(self, name: str) -> str:
        return LIST_TITLES.get(name) or getattr(self.policy.guidance, name).title

    def _heading(self, name: str, level: int, intro: bool = True) -> str:
        text = f"{'#' * level} {escape(self._title(name))}\n\n" if level else ""
        words = "" if name in LIST_TITLES or not intro else getattr(self.policy.guidance, name).intro
        return text + (f"{escape(words, quote=False)}\n\n" if words else "")

    def section(self, name: str, level: int = 2) -> str:
        """A section's heading (none when ``level`` is 0), intro and items."""
        items = section_items(self.policy, name)
        if not items:  # an optional part the school left out (the code word)
            return ""
        ordered = name == "procedure"
        return self._heading(name, level) + texts.render_items(items, anchor=self._owns(name), ordered=ordered)

    def checklist(self, *names: str, level: int = 0, brief: bool = False) -> str:
        """Tick-lists of the named sections; ``brief`` gives titles only and a link to each section's page."""
        parts = []
        for name in names:
            head = self._heading(name, level, intro=not brief) if level else ""
            if brief:
                head += f"[Why each line matters]({page_of(name)}.md)\n{{: .hv-why }}\n\n"
            items = section_items(self.policy, name)
            parts.append(head + texts.render_checklist(items, anchor=self._owns(name), brief=brief))
        return "\n\n".join(parts)

    def two_staff_rule(self) -> str:
        return texts.admonition("warning", "Two members of staff", texts.two_staff_lines(self.policy))

    def evening_rule(self) -> str:
        return texts.admonition("warning", "Evening visits", texts.evening_lines(self.policy))

    def overdue_rule(self) -> str:
        return texts.admonition("danger", "When a visit becomes overdue", texts.overdue_lines(self.policy))

    def escalation_rule(self) -> str:
        return texts.admonition("danger", "Who is contacted, and when", texts.tier_lines(self.policy))

    def transport_rule(self) -> str:
        if self.policy.rules.public_transport_allowed:
            lines = ["Public transport is allowed; plan how you would leave."]
            return texts.admonition("note", "Public transport", lines)
        lines = ["Public transport must not be used to travel to a visit."]
        return texts.admonition("warning", "Public transport", lines)

    def authorisation_rule(self) -> str:
        lines = [f"Plans are authorised by {texts.authorisers(self.policy)}. Nobody authorises their own plan.",
                 *texts.route_lines(self.policy)]
        return texts.admonition("info", "Authorisation", lines)

    def all_rules(self) -> str:
        return texts.rules_table(self.policy)

    def school_choices(self) -> str:
        return texts.choices_table(self.policy)

    def stop_card(self) -> str:
        """The stop card: its items' anchors live on the page that owns the ``stop`` section."""
        return texts.stop_card(self.policy, anchor=self._owns("stop"))

    def if_then(self) -> str:
        return texts.if_then_lines(self.policy)

    def review(self) -> str:
        return texts.review_line(self.policy)

    def plural(self, count: int, word: str, words: str | None = None) -> str:
        return texts.plural(count, word, words)

    def office_phone(self) -> str:
        phone = self.policy.school.office_phone
        return texts.phone_link(phone) if phone else "the office"

    def attendance_reason_links(self) -> str:
        return texts.attendance_reasons(self.policy)


#: The names pages use to call :class:`Macros`.
MACROS = [name for name in vars(Macros) if not name.startswith("_")]


def define_env(env: Any) -> None:
    """Register the handbook's macros and variables (mkdocs-macros entry point)."""
    try:
        policy = _policy()
    except PolicyError as exc:
        raise PluginError(f"The handbook cannot be built from this policy: {exc}") from None
    env.variables["policy"] = policy
    env.variables["rules"] = policy.rules
    env.conf["copyright"] = f"{escape(policy.school.name)} home-visit policy, version {escape(policy.version)}"

    def current_page() -> str:
        page = getattr(env, "page", None)
        return Path(page.file.src_uri).stem if page else ""

    macros = Macros(policy, current_page)
    for name in MACROS:
        env.macro(getattr(macros, name), name)
