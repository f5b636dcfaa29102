"""What sending mail needs besides the database: the schools (each with its policy), the directory, a
mailer, links and templates.

No Flask here. A view or a command builds one with :func:`mail_context` from the app's config mapping and
hands in how to link to a visit and how to render a template (the app's Jinja environment, so a host's
template at the same path overrides ours); without one, the plugin's own templates are used.

Everything about one visit reads the visit's school (:meth:`Context.school_of`): its policy, its office,
its approvers, its out-of-hours contact. A context made with one ``policy`` and no ``schools`` is the one
school of a portal with no ``HOME_VISITS_SCHOOLS``, exactly as before schools existed.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, Template, select_autoescape
from markupsafe import Markup

from ..people import Directory, Person
from ..policy import Policy
from ..schools import ONE_SCHOOL, School, Schools
from .smtp import MailSettings, mailer
from .webhooks import Channel, channels

#: Sends one email: ``mailer(recipients, subject, plain text, html=None, headers=None)``. Raises
#: :class:`~.smtp.MailError` when it cannot.
Mailer = Callable[..., None]
#: Finds a template by name (``home_visits/emails/alert.txt``), as the app's Jinja environment does.
Templates = Callable[[str], Template]

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


@lru_cache(maxsize=1)
def own_templates() -> Environment:
    """The plugin's own templates, for a context built outside any app (a test, a benchmark)."""
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


@dataclass(frozen=True)
class Context:
    """What a sweep, an alert or a plan email needs besides the database."""

    #: The portal-wide policy: the one school's, or in a trust the trust's. A visit's own is :meth:`policy_of`.
    policy: Policy
    directory: Directory
    mailer: Mailer
    #: Link to a visit in the portal.
    link: Callable[[int], str]
    #: The one school's out-of-hours contact (a trust's schools each name theirs in :attr:`schools`).
    out_of_hours_email: str | None = None
    #: Line managers and health-and-safety leads who hear about incidents, besides the approvers
    #: (trust-wide: every school's incidents).
    incident_emails: tuple[str, ...] = ()
    templates: Templates = field(default=lambda name: own_templates().get_template(name))
    #: The portal's schools; ``None``: the one school of :attr:`policy` and :attr:`out_of_hours_email`.
    schools: Schools | None = None
    #: The webhook channels alerts may go to, by ``webhook:<name>`` (``HOME_VISITS_ALERT_WEBHOOKS``).
    channels: Mapping[str, Channel] = field(default_factory=dict)
    #: Seconds a channel has to answer (``HOME_VISITS_WEBHOOK_TIMEOUT``).
    webhook_timeout: float = 5.0
    #: What this context has looked up once already (the staff list, each school's office and approvers).
    _memo: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.schools is None:
            name = self.policy.school.name
            one = School(ONE_SCHOOL, name, name, self.policy, out_of_hours_email=self.out_of_hours_email or "")
            object.__setattr__(self, "schools", Schools([one], trust_policy=self.policy, trust=False))

    @property
    def all_schools(self) -> Schools:
        assert self.schools is not None  # set in __post_init__
        return self.schools

    def school_of(self, visit: object) -> School:
        """The visit's school (in a portal of one school, that one); :class:`KeyError` naming the id
        when a trust no longer lists it: a problem of that visit, never of the others."""
        schools = self.all_schools
        if not schools.trust:
            return schools.first
        return schools.of(getattr(visit, "school_id", "") or "")

    def policy_of(self, visit: object) -> Policy:
        return self.school_of(visit).policy

    def at(self, person: Person, school: School) -> Person:
        """``person`` with the roles they hold at ``school`` (in a portal of one school, all of them)."""
        return person.at(school.id) if self.all_schools.trust else person

    def staff(self) -> list[Person]:
        """The directory's staff list, read once per context (a sweep, a command, a request)."""
        if "staff" not in self._memo:
            self._memo["staff"] = list(self.directory.staff())
        return self._memo["staff"]  # type: ignore[no-any-return]

    def office(self, school: School) -> list[str]:
        """Who "the office" is for a visit of ``school``: its office staff (trust-wide office included),
        then the office's own address when the school names one."""
        key = ("office", school.id)
        if key not in self._memo:
            found = [p.email for p in self.staff() if p.email and self.at(p, school).has("office")]
            self._memo[key] = list(dict.fromkeys([*found, *([school.office_email] if school.office_email else [])]))
        return list(self._memo[key])

    def authorisers(self, school: School) -> list[Person]:
        """Those who authorise at ``school`` (by its policy's ``rules.authorisers``), trust-wide ones included."""
        key = ("authorisers", school.id)
        if key not in self._memo:
            roles = school.policy.rules.authorisers
            self._memo[key] = [p for p in self.staff() if self.at(p, school).has(*roles)]
        return list(self._memo[key])

    def prefix(self, school: School | None) -> str:
        """``[North] `` before a subject when the portal has more than one school; else nothing."""
        return f"[{school.short}] " if school is not None and len(self.all_schools) > 1 else ""

    def school_name(self, school: School | None) -> str:
        """The school's name for an email's text when the portal has more than one school; else ``""``."""
        return school.name if school is not None and len(self.all_schools) > 1 else ""


def mail_context(config: Mapping[str, Any], *, policy: Policy | None = None, directory: Directory,
                 link: Callable[[int], str], templates: Templates | None = None,
                 schools: Schools | None = None) -> Context:
    """The context the app's ``HOME_VISITS_*`` mail keys describe, for the one school of ``policy`` or for
    ``schools`` (a portal's :class:`~..schools.Schools`; when it is a trust's, its policy is the trust's)."""
    if policy is None and schools is None:
        raise TypeError("mail_context needs the policy or the schools")
    extra: dict[str, Any] = {"templates": templates} if templates is not None else {}
    if schools is not None and schools.trust:
        extra["schools"] = schools
    return Context(
        policy=policy or schools.trust_policy,  # type: ignore[union-attr]
        directory=directory, mailer=mailer(MailSettings.from_config(config)), link=link,
        out_of_hours_email=config["HOME_VISITS_OUT_OF_HOURS_EMAIL"],
        incident_emails=tuple(config["HOME_VISITS_INCIDENT_EMAILS"]), channels=channels(config),
        webhook_timeout=float(config["HOME_VISITS_WEBHOOK_TIMEOUT"]), **extra,
    )


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


def as_html(text: str) -> Markup:
    """The plain text as simple HTML paragraphs: line breaks kept, links that can be clicked."""
    def line(raw: str) -> str:
        return re.sub(r"(https?://\S+)", r'<a href="\1">\1</a>', html.escape(raw))

    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    return Markup("\n".join("<p>" + "<br>\n".join(line(x) for x in p.splitlines()) + "</p>" for p in paragraphs))


def render_part(context: Context, name: str, **values: Any) -> str:
    """The text of ``home_visits/emails/<name>.txt`` (a part of an email, such as one visit of the digest)."""
    return context.templates(f"home_visits/emails/{name}.txt").render(**values)


def render(context: Context, name: str, *, school: School | None = None, **values: Any) -> Email:
    """The email ``home_visits/emails/<name>``: its subject (``<name>.subject.txt``, on one line), plain
    text (``<name>.txt``) and HTML (``<name>.html``, given the text as ``body``).

    About one ``school`` of several: its short name leads the subject (``[North] ...``) and the templates
    are given its name as ``school_name`` (``""`` in a portal of one school)."""
    values = {"school_name": context.school_name(school), **values}
    text = render_part(context, name, **values)
    subject = context.prefix(school) + render_part(context, f"{name}.subject", **values)
    page = context.templates(f"home_visits/emails/{name}.html").render(**values, text=text, body=as_html(text))
    return Email(" ".join(subject.split()), text, page)
