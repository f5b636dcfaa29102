"""The mail context of the running app, for views and commands: the app's config, its schools and
directory, links from ``HOME_VISITS_PUBLIC_URL``, and its Jinja environment (so a host's email template at
the same path overrides ours). :mod:`.context` itself knows no Flask."""

from __future__ import annotations

from flask import current_app

from ..state import state
from ..web.context import get_session
from ..web.links import visit_link
from .context import Context
from .context import mail_context as build_context
from .notices import deliver


def mail_context() -> Context:
    """Schools and policies, directory, mail, links and the app's email templates; works in a command too."""
    st = state(current_app)
    return build_context(current_app.config, policy=st.policy, directory=st.directory, link=visit_link,
                         templates=current_app.jinja_env.get_template, schools=st.schools)


def send_notices() -> None:
    """Try the plan emails just queued; any that cannot go now are retried by the escalation sweep."""
    deliver(get_session(), mail_context(), state(current_app).clock())
