"""Where a stranger goes: the host's login page, or a 401 page that says which setting to fix; and the 403
message for someone signed in with none of the plugin's roles."""

from __future__ import annotations

import logging
from typing import Any

import flask_login
from flask import current_app, redirect, request
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response

log = logging.getLogger("home_visits")

#: The 403 page for someone signed in to the portal with none of the plugin's roles.
NO_ROLE = ("You are signed in, but you have no role in home visits yet. It has three: staff (plan and make "
           "visits), approver (authorise plans) and office (see who is out). The portal's administrator grants them.")


def login_redirect(warned: set[str]) -> Response | None:
    """Where a stranger goes: ``HOME_VISITS_LOGIN_ENDPOINT``, else Flask-Login's own answer (its login view,
    or the host's unauthorized handler). ``None`` when no login page can be built: the caller shows a 401
    page, and the log says once (per app, ``warned`` remembers) which setting to fix."""
    endpoint = current_app.config["HOME_VISITS_LOGIN_ENDPOINT"]
    manager = getattr(current_app, "login_manager", None)
    try:
        if endpoint:
            return redirect(flask_login.login_url(endpoint, next_url=request.url))
        if manager is not None and manager.unauthorized_callback is not None:
            return manager.unauthorized()  # type: ignore[no-any-return]
        if view := _login_view(manager):
            flask_login.utils.expand_login_view(view)  # BuildError before Flask-Login flashes its message
            return manager.unauthorized()  # type: ignore[no-any-return]
        problem = "the portal's Flask-Login has no login_view"
    except BuildError as error:
        endpoint = endpoint or _login_view(manager)
        problem = f"its login endpoint {endpoint!r} does not exist ({error.__class__.__name__})"
    if problem not in warned:
        warned.add(problem)
        log.warning(
            "Home visits cannot send people who are not logged in to a login page: %s. Set "
            "HOME_VISITS_LOGIN_ENDPOINT to the endpoint of the portal's login page (Flask-AppBuilder: "
            "'AuthDBView.login'); until then they get a 401 page asking them to log in.", problem,
        )
    return None


def _login_view(manager: Any) -> str | None:
    if manager is None:
        return None
    return manager.blueprint_login_views.get(request.blueprint) or manager.login_view  # type: ignore[no-any-return]
