"""The handbook's tables: which page carries each policy section, the headings of lists outside
``guidance``, and the words for recipients, roles and two-staff conditions. Pure: no MkDocs, no Flask."""

from __future__ import annotations

from collections.abc import Sequence

from ..policy import Item, Policy

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

RECIPIENTS: dict[str, str] = {
    "responsible_contact": "the responsible contact",
    "office": "the school office",
    "approvers": "the senior leaders who authorise visits",
    "second_staff": "the second member of staff",
}

ROLE_WORDS: dict[str, str] = {
    "approver": "senior leaders (the approver role)",
    "office": "the school office",
    "staff": "any member of staff",
}

TWO_STAFF_WORDS: dict[str, str] = {
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



def section_names() -> list[str]:
    """Every section name that :data:`PAGES` places on a page."""
    return [name for names in PAGES.values() for name in names]


def page_of(section: str) -> str:
    """The page whose HTML carries this section's anchors."""
    return next(page for page, names in PAGES.items() if section in names)
