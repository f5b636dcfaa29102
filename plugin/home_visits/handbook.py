"""Macros for the MkDocs handbook: pages call these, so the policy text lives only in the policy file.

mkdocs.yml loads this file through mkdocs-macros (``module_name``); ``define_env`` is its entry point.
The policy comes from ``HOME_VISITS_POLICY`` when set, otherwise the shipped default.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from html import escape
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

try:
    from home_visits.policy import Item, Policy, PolicyError, load_policy
except ModuleNotFoundError as exc:  # pragma: no cover - a checkout built without installing the plugin
    if exc.name != "home_visits":
        raise
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from home_visits.policy import Item, Policy, PolicyError, load_policy

#: Where each list of policy items is rendered (with its ids as anchors): page (file stem) -> sections.
#: The order is the navigation's (mkdocs.yml), which follows the overview's steps.
PAGES: dict[str, list[str]] = {
    "index": [],
    "right-step": ["reasons", "alternatives", "consent"],
    "filing-a-plan": [],
    "before": ["before"],
    "who-goes": ["risk_factors"],
    "what-to-take": ["take"],
    "getting-there": ["getting_there"],
    "arriving": ["stop", "arriving"],
    "during": ["during"],
    "things-go-wrong": ["aggression", "children_alone", "code_word"],
    "after": ["after", "record"],
    "attendance": ["attendance"],
    "families-and-agencies": ["families", "agencies"],
    "overdue": ["procedure"],
    "slt-calendar": [],
    "printable-checklist": [],
}

#: Headings for the lists that sit outside ``guidance`` (guidance sections carry their own titles).
LIST_TITLES: dict[str, str] = {
    "reasons": "Why we visit",
    "alternatives": "Instead of a visit",
    "risk_factors": "Risk factors",
    "procedure": "If someone is overdue: what to do, in order",
    "code_word": "Asking for help without saying so",
}

_RECIPIENTS: dict[str, str] = {
    "responsible_contact": "the responsible contact",
    "office": "the school office",
    "approvers": "the senior leaders who authorise visits",
    "second_staff": "the second member of staff",
}

_ROLES: dict[str, str] = {
    "approver": "senior leaders (the approver role)",
    "office": "the school office",
    "staff": "any member of staff",
}

_REQUIRED = ' <span class="hv-required">required</span>'

_TWO_STAFF: dict[str, str] = {
    "always": "on every visit",
    "first_visit": "on your first visit inside a home (one you have not been inside on an earlier recorded visit)",
    "when_risk_identified": "when the risk assessment identifies a risk",
}


def section_items(policy: Policy, name: str) -> Sequence[Item]:
    """The items of a section: a ``guidance`` key, ``reasons``, ``alternatives``, ``risk_factors``, ``procedure``
    or ``code_word``."""
    if name == "procedure":
        return policy.escalation.procedure
    if name == "code_word":
        return [policy.rules.code_word] if policy.rules.code_word else []
    if name in ("reasons", "alternatives", "risk_factors"):
        return getattr(policy, name)  # type: ignore[no-any-return]
    return policy.guidance.items(name)


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 minute``, ``15 minutes``: the count with its noun in the right number."""
    return f"{count} {word if count == 1 else words or word + 's'}"


def section_names() -> list[str]:
    """Every section name that :data:`PAGES` places on a page."""
    return [name for names in PAGES.values() for name in names]


def page_of(section: str) -> str:
    """The page whose HTML carries this section's anchors."""
    return next(page for page, names in PAGES.items() if section in names)


def _sentence(title: str) -> str:
    """A title as the lead-in of a line: ends with a full stop unless it already has punctuation."""
    return title if title[-1:] in ".?!:" else f"{title}."


def _item_html(item: Item, anchor: bool) -> str:
    attrs = f' id="{escape(item.id)}"' if anchor else ""
    badge = _REQUIRED if item.required else ""
    return (
        f'<li class="hv-item"{attrs}><strong>{escape(_sentence(item.title))}</strong>{badge} '
        f"{escape(item.text, quote=False)}</li>"
    )


def render_items(items: Iterable[Item], anchor: bool = True, ordered: bool = False) -> str:
    """Items as an HTML list; each ``<li>`` carries the item's id when ``anchor``."""
    tag = "ol" if ordered else "ul"
    body = "\n".join(_item_html(item, anchor) for item in items)
    return f'<{tag} class="hv-items">\n{body}\n</{tag}>'


def render_checklist(items: Iterable[Item], anchor: bool = True, brief: bool = False) -> str:
    """Items as a tick-list in pymdownx.tasklist's markup, each checkbox named by its item's title.

    ``brief`` shows titles only (the printable sheet).
    """
    lines = []
    for item in items:
        attrs = f' id="{escape(item.id)}"' if anchor else ""
        title = escape(item.title if brief else _sentence(item.title))
        required = _REQUIRED if item.required else ""
        text = "" if brief else f" {escape(item.text, quote=False)}"
        lines.append(
            f'<li class="task-list-item"{attrs}><label class="task-list-control">'
            f'<input type="checkbox" aria-label="{escape(item.title)}"><span class="task-list-indicator"></span>'
            f"</label> <strong>{title}</strong>{required}{text}</li>"
        )
    body = "\n".join(lines)
    kind = " hv-checklist--brief" if brief else ""
    return f'<ul class="task-list hv-checklist{kind}">\n{body}\n</ul>'


def admonition(kind: str, title: str, lines: Iterable[str]) -> str:
    """A Material admonition block with a Markdown body."""
    body = "\n".join(f"    {line}" if line else "" for line in lines)
    return f'!!! {kind} "{title}"\n\n{body}\n'


def _join(parts: Sequence[str]) -> str:
    if len(parts) < 2:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} and {parts[-1]}"


def recipients(policy: Policy, names: Iterable[str]) -> list[str]:
    """Who an escalation tier contacts, in words."""
    out_of_hours = policy.escalation.out_of_hours_contact
    return [_RECIPIENTS.get(name, out_of_hours) for name in names]


def two_staff_required(policy: Policy) -> list[str]:
    """When a second member of staff is required, in words."""
    rules = policy.rules
    must = [_TWO_STAFF[c] for c in rules.two_staff if c in _TWO_STAFF]
    must += [f"on a visit for {escape(reason.title.lower())}" for reason in policy.reasons if reason.two_staff]
    if rules.evening.needs_two_staff:
        must.append(f"on an evening visit (after {rules.evening.after:%H:%M})")
    if rules.night.needs_two_staff:
        must.append(f"on an early-morning visit (before {rules.night.before:%H:%M})")
    return must


def two_staff_lines(policy: Policy) -> list[str]:
    """The two-staff rule as Markdown lines."""
    lines = ["Two staff are required when:", ""] + [f"- {reason}" for reason in two_staff_required(policy)]
    if "whenever_possible" in policy.rules.two_staff:
        lines += ["", "Otherwise two staff go whenever possible; a lone visit needs a written reason on the plan."]
    return lines


def evening_lines(policy: Policy) -> list[str]:
    evening = policy.rules.evening
    at = f"{evening.after:%H:%M}"
    when = f"starts at or after {at}, or is expected to end after {at}"
    lines = [f"A visit that {when}, is an evening visit. Avoid them."]
    if evening.needs_two_staff:
        lines.append("If one cannot be avoided, two members of staff must go, or the plan cannot be submitted.")
    return lines


def overdue_after(policy: Policy) -> str:
    """When a visit becomes overdue, in words: "15 minutes after your expected return"."""
    grace = policy.rules.grace_minutes
    return f"{plural(grace, 'minute')} after your expected return" if grace else "by your expected return"


def overdue_lines(policy: Policy) -> list[str]:
    return [
        f"If you have not checked in **{overdue_after(policy)}**, the visit is overdue:"
        " it shows on the dashboard at once and the escalation below begins.",
        "Running late? Ring your responsible contact before your expected return.",
    ]


def tier_lines(policy: Policy) -> list[str]:
    """Each escalation tier with its minutes and who is contacted."""
    grace = policy.rules.grace_minutes
    lines = []
    for tier in policy.escalation.tiers:
        after = grace + tier.after_minutes
        minutes = tier.after_minutes
        when = f"{plural(minutes, 'minute')} after it became overdue" if minutes else "As soon as the visit is overdue"
        who = _join(recipients(policy, tier.notify))
        lines.append(f"- **{when}** ({plural(after, 'minute')} after the expected return): {who} are told.")
    office = policy.escalation
    lines += [
        "",
        f"Anyone still checked out when the office closes at {office.office_closes:%H:%M}"
        f" is passed to {escape(office.out_of_hours_contact)}.",
    ]
    return lines


def route_lines(policy: Policy) -> list[str]:
    """One sentence per route in the policy: which plans are asked of whom first."""
    lines = []
    for route in policy.rules.routes:
        which = [f"for {_join([escape(policy.item(r).title.lower()) for r in route.reasons])}"] if route.reasons else []
        if route.any_risk:
            which.append("with any risk factor ticked")
        elif route.risk_factors:
            which.append(f"with {_join([escape(policy.item(r).title.lower()) for r in route.risk_factors])} ticked")
        lines.append(f"Plans {' or '.join(which)} are asked of {escape(route.who)} first.")
    return lines


def rules_table(policy: Policy) -> str:
    """Every rule the portal enforces, as a Markdown table."""
    rules = policy.rules
    roles = _join([_ROLES.get(role, role) for role in rules.authorisers])
    rows = [
        ("Who authorises", f"{roles}, never for their own plan"),
        *(("Asked first", line) for line in route_lines(policy)),
        ("Two staff required", "; ".join(two_staff_required(policy)) or "never"),
        ("Going alone", "never" if "always" in rules.two_staff else "only when two staff are not required; say why"),
        ("Evening visits", f"after {rules.evening.after:%H:%M}"),
        ("Early-morning visits", f"before {rules.night.before:%H:%M}, treated like evening visits"),
        ("A ticked risk", "needs a note of what you will do about it"),
        ("An unannounced visit", "needs a written reason"),
        ("No alternative considered", "say why a visit instead"),
        ("Longest visit", plural(rules.longest_visit_minutes, "minute")),
        ("Overdue after", f"expected return + {plural(rules.grace_minutes, 'minute')}"),
        ("Public transport", "allowed" if rules.public_transport_allowed else "not allowed"),
        ("Reminder to approvers",
         f"{plural(rules.reminder_window_days, 'school day')} before an undecided visit"),
        ("Records kept for", plural(rules.retention_years, "year")),
    ]
    return "\n".join(["| Rule | This school |", "| --- | --- |", *(f"| {a} | {b} |" for a, b in rows)])


def attendance_reasons(policy: Policy) -> str:
    """The attendance reasons as links to their anchors on the right-step page."""
    page = page_of("reasons")
    return "\n".join(
        f"- [{escape(reason.title)}]({page}.md#{reason.id}): {escape(reason.text, quote=False)}"
        for reason in policy.reasons
        if reason.attendance
    )


def _if(condition: str) -> str:
    """A condition as the bold lead-in of an "If …:" line."""
    return f"<strong>If {escape(condition)}:</strong>"


def _phone_link(number: str) -> str:
    return f'<a href="tel:{re.sub(r"[^0-9+]", "", number)}">{escape(number)}</a>'


def stop_card(policy: Policy, anchor: bool = True) -> str:
    """When not to go in, and where help is: a danger box of "If …:" lines (raw HTML, no Markdown)."""
    stop = policy.guidance.stop
    lines = [
        f"<li{f' id={chr(34)}{escape(item.id)}{chr(34)}' if anchor else ''}>{_if(item.title)} "
        f"{escape(item.text, quote=False)}</li>"
        for item in (stop.items if stop else [])
    ]
    lines.append(f"<li>{_if('anyone is in danger')} Call 999.</li>")
    code = policy.rules.code_word
    if code and code.phrase:
        lines.append(f"<li>{_if('you need help but cannot say so')} Ring the office and say "
                     f"&ldquo;{escape(code.phrase)}&rdquo;.</li>")
    elif code:
        lines.append(f'<li>{_if("you need help but cannot say so")} <a href="{page_of("code_word")}.html#'
                     f'{escape(code.id)}">{escape(code.title)}</a>.</li>')
    if policy.school.office_phone:
        lines.append(f"<li><strong>The office:</strong> {_phone_link(policy.school.office_phone)}</li>")
    title = stop.title if stop else "Stop"
    intro = f'<p>{escape(stop.intro, quote=False)}</p>\n' if stop and stop.intro else ""
    body = "\n".join(lines)
    return (f'<div class="admonition danger hv-stop">\n<p class="admonition-title">{escape(title)}</p>\n'
            f'{intro}<ul class="hv-lines">\n{body}\n</ul>\n</div>')


def if_then_lines(policy: Policy) -> str:
    """Every item with a ``when`` as an "If …: what to do" line, in policy order, and the overdue rule."""
    lines = [f"<li>{_if(item.when)} {escape(item.text, quote=False)}</li>"
             for item in policy.all_items() if item.when]
    lines.append(f"<li>{_if('you will be late back')} Ring your responsible contact before your expected return."
                 f" If you have not checked in {overdue_after(policy)}, the overdue procedure starts.</li>")
    body = "\n".join(lines)
    return f'<ul class="hv-lines hv-if">\n{body}\n</ul>'


def _day(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def review_line(policy: Policy, today: date | None = None) -> str:
    """The policy's version and review dates, and a warning when its review is overdue."""
    line = f"This handbook follows policy version {escape(policy.version)}"
    if policy.reviewed:
        line += f", last reviewed on {_day(policy.reviewed)}"
    if policy.review_by:
        due = _day(policy.review_by)
        if policy.review_by < (today or date.today()):
            line += f". It was due for review by {due}: ask whoever maintains it whether it still stands"
        else:
            line += f". Next review due by {due}"
    return line + "."


def _policy() -> Policy:
    """``HOME_VISITS_POLICY`` (else the shipped policy); a trust school's file extends the trust's in
    ``HOME_VISITS_TRUST_POLICY`` and takes its name from ``HOME_VISITS_SCHOOL_NAME`` (``handbook_site.build``)."""
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
        return self._heading(name, level) + render_items(items, anchor=self._owns(name), ordered=name == "procedure")

    def checklist(self, *names: str, level: int = 0, brief: bool = False) -> str:
        """Tick-lists of the named sections; ``brief`` gives titles only and a link to each section's page."""
        parts = []
        for name in names:
            head = self._heading(name, level, intro=not brief) if level else ""
            if brief:
                head += f"[Why each line matters]({page_of(name)}.md)\n{{: .hv-why }}\n\n"
            items = section_items(self.policy, name)
            parts.append(head + render_checklist(items, anchor=self._owns(name), brief=brief))
        return "\n\n".join(parts)

    def two_staff_rule(self) -> str:
        return admonition("warning", "Two members of staff", two_staff_lines(self.policy))

    def evening_rule(self) -> str:
        return admonition("warning", "Evening visits", evening_lines(self.policy))

    def overdue_rule(self) -> str:
        return admonition("danger", "When a visit becomes overdue", overdue_lines(self.policy))

    def escalation_rule(self) -> str:
        return admonition("danger", "Who is contacted, and when", tier_lines(self.policy))

    def transport_rule(self) -> str:
        if self.policy.rules.public_transport_allowed:
            return admonition("note", "Public transport", ["Public transport is allowed; plan how you would leave."])
        return admonition("warning", "Public transport", ["Public transport must not be used to travel to a visit."])

    def authorisation_rule(self) -> str:
        roles = _join([_ROLES.get(role, role) for role in self.policy.rules.authorisers])
        lines = [f"Plans are authorised by {roles}. Nobody authorises their own plan.", *route_lines(self.policy)]
        return admonition("info", "Authorisation", lines)

    def all_rules(self) -> str:
        return rules_table(self.policy)

    def stop_card(self) -> str:
        """The stop card: its items' anchors live on the page that owns the ``stop`` section."""
        return stop_card(self.policy, anchor=self._owns("stop"))

    def if_then(self) -> str:
        return if_then_lines(self.policy)

    def review(self) -> str:
        return review_line(self.policy)

    def plural(self, count: int, word: str, words: str | None = None) -> str:
        return plural(count, word, words)

    def office_phone(self) -> str:
        phone = self.policy.school.office_phone
        return _phone_link(phone) if phone else "the office"

    def attendance_reason_links(self) -> str:
        return attendance_reasons(self.policy)


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
