"""What sending mail needs besides the database: the policy, the directory, a mailer, links and templates.

No Flask here. A view or a command builds one with :func:`mail_context` from the app's config mapping and
hands in how to link to a visit and how to render a template (the app's Jinja environment, so a host's
template at the same path overrides ours); without one, the plugin's own templates are used.
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

from ..people import Directory
from ..policy import Policy
from .smtp import MailSettings, mailer

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

    policy: Policy
    directory: Directory
    mailer: Mailer
    #: Link to a visit in the portal.
    link: Callable[[int], str]
    out_of_hours_email: str | None = None
    #: Line managers and health-and-safety leads who hear about incidents, besides the approvers.
    incident_emails: tuple[str, ...] = ()
    templates: Templates = field(default=lambda name: own_templates().get_template(name))


def mail_context(config: Mapping[str, Any], *, policy: Policy, directory: Directory, link: Callable[[int], str],
                 templates: Templates | None = None) -> Context:
    """The context the app's ``HOME_VISITS_*`` mail keys describe."""
    extra = {"templates": templates} if templates is not None else {}
    return Context(
        policy=policy, directory=directory, mailer=mailer(MailSettings.from_config(config)), link=link,
        out_of_hours_email=config["HOME_VISITS_OUT_OF_HOURS_EMAIL"],
        incident_emails=tuple(config["HOME_VISITS_INCIDENT_EMAILS"]), **extra,
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


def render(context: Context, name: str, **values: Any) -> Email:
    """The email ``home_visits/emails/<name>``: its subject (``<name>.subject.txt``, on one line), plain
    text (``<name>.txt``) and HTML (``<name>.html``, given the text as ``body``)."""
    text = render_part(context, name, **values)
    subject = render_part(context, f"{name}.subject", **values)
    page = context.templates(f"home_visits/emails/{name}.html").render(**values, text=text, body=as_html(text))
    return Email(" ".join(subject.split()), text, page)
