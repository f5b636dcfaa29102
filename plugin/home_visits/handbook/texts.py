"""The handbook's texts: each rule of the policy in words, and the HTML of its lists, stop card and
"If ..." lines. The macros (:mod:`.macros`) call these; so do the tests. Pure: no MkDocs, no Flask."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date
from html import escape

from ..policy import Item, Policy
from .tables import RECIPIENTS, ROLE_WORDS, TWO_STAFF_WORDS, page_of

_REQUIRED = ' <span class="hv-required">required</span>'


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 minute``, ``15 minutes``: the count with its noun in the right number."""
    return f"{count} {word if count == 1 else words or word + 's'}"



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


def join_words(parts: Sequence[str]) -> str:
    if len(parts) < 2:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} and {parts[-1]}"


def authorisers(policy: Policy) -> str:
    """Who authorises plans, in words."""
    return join_words([ROLE_WORDS.get(role, role) for role in policy.rules.authorisers])


def recipients(policy: Policy, names: Iterable[str]) -> list[str]:
    """Who an escalation tier contacts, in words."""
    out_of_hours = policy.escalation.out_of_hours_contact
    return [RECIPIENTS.get(name, out_of_hours) for name in names]


def two_staff_required(policy: Policy) -> list[str]:
    """When a second member of staff is required, in words."""
    rules = policy.rules
    must = [TWO_STAFF_WORDS[c] for c in rules.two_staff if c in TWO_STAFF_WORDS]
    must += [f"on a visit for {escape(reason.title.lower())}" for reason in policy.reasons if reason.two_staff]
    if rules.evening.needs_two_staff:
        must.append(f"on an evening visit (after {rules.evening.after:%H:%M})")
    if rules.night.needs_two_staff:
        must.append(f"on an early-morning visit (before {rules.night.before:%H:%M})")
    return must


def two_staff_lines(policy: Policy) -> list[str]:
    """The two-staff rule as Markdown lines: the school's choice (joint visits only, or lone visits allowed
    with a reason) said plainly, then when two staff are required."""
    if "always" in policy.rules.two_staff:
        return ["This school's choice: every home visit is a joint visit. Two members of staff always go, and "
                "a plan naming one cannot be submitted."]
    lines = ["Two staff are required when:", ""] + [f"- {reason}" for reason in two_staff_required(policy)]
    possible = "; two staff still go whenever possible" if "whenever_possible" in policy.rules.two_staff else ""
    return lines + ["", f"This school allows a lone visit otherwise, with a written reason on the plan{possible}."]


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
        who = join_words(recipients(policy, tier.notify))
        lines.append(f"- **{when}** ({plural(after, 'minute')} after the expected return): {who} are told.")
    office = policy.escalation
    lines += [
        "",
        f"Anyone still checked out when the office closes at {office.office_closes:%H:%M}"
        f" is passed to {escape(office.out_of_hours_contact)}.",
    ]
    return lines


def _titles(policy: Policy, ids: Iterable[str]) -> str:
    return join_words([escape(policy.item(item_id).title.lower()) for item_id in ids])


def route_lines(policy: Policy) -> list[str]:
    """One sentence per route in the policy: which plans are asked of whom first."""
    lines = []
    for route in policy.rules.routes:
        which = [f"for {_titles(policy, route.reasons)}"] if route.reasons else []
        if route.any_risk:
            which.append("with any risk factor ticked")
        elif route.risk_factors:
            which.append(f"with {_titles(policy, route.risk_factors)} ticked")
        lines.append(f"Plans {' or '.join(which)} are asked of {escape(route.who)} first.")
    return lines


def rules_table(policy: Policy) -> str:
    """Every rule the portal enforces, as a Markdown table."""
    rules = policy.rules
    rows = [
        ("Who authorises", f"{authorisers(policy)}, never for their own plan"),
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


def choices_table(policy: Policy) -> str:
    """The rules that are this school's own choice (beyond what the guidance it follows asks), with the
    policy key that changes each, as a Markdown table."""
    rules = policy.rules
    rows = [
        ("No lone visit in the evening" if rules.evening.needs_two_staff else "Evening visits",
         f"after {rules.evening.after:%H:%M}", "rules.evening"),
        ("The early morning counts as evening", f"before {rules.night.before:%H:%M}", "rules.night.before"),
        ("Longest visit", plural(rules.longest_visit_minutes, "minute"), "rules.longest_visit_minutes"),
        ("Overdue after the expected return", plural(rules.grace_minutes, "minute"), "rules.grace_minutes"),
        ("Records kept for", plural(rules.retention_years, "year"), "rules.retention_years"),
    ]
    head = ["| The school's choice | Set to | Where to change it |", "| --- | --- | --- |"]
    return "\n".join([*head, *(f"| {a} | {b} | `{c}` |" for a, b, c in rows)])


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


def phone_link(number: str) -> str:
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
        lines.append(f"<li><strong>The office:</strong> {phone_link(policy.school.office_phone)}</li>")
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
