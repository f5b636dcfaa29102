"""The plugin's error pages (400, 401, 403, 404, 405, 409, 413) inside the host's base template, each with a
sentence that helps, for the plugin's own routes only; and the way strangers are sent to the host's login
page, or told to log in when that page cannot be built."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import flask_login
from flask import Flask, current_app, redirect, render_template, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response

log = logging.getLogger("home_visits")

#: What each page says when the code that stopped the request gave no reason of its own.
HELP = {
    400: "The request was incomplete or has expired. Go back, reload the page and try again.",
    401: "Please log in to the portal to see this page, then open it again.",
    403: "This page is for people with another role in home visits (staff, approver or office). "
         "The portal's administrator grants roles.",
    404: "There is no visit or page at this address that you can see. It may have been removed, "
         "or the link may be mistyped.",
    405: "This address cannot be opened that way. Use the buttons and links on the portal's pages.",
    409: "Someone else changed this at the same moment. Open it again to see what they did, then try again.",
    413: "What you sent is too large. Shorten the text, or attach less, and try again.",
}

#: The 403 page for someone signed in to the portal with none of the plugin's roles.
NO_ROLE = ("You are signed in, but you have no role in home visits yet. It has three: staff (plan and make "
           "visits), approver (authorise plans) and office (see who is out). The portal's administrator grants them.")


def message(error: HTTPException) -> str:
    """The reason the code gave (``abort(400, "...")``), else the helpful sentence for the status."""
    if error.description and error.description != type(error).description:
        return str(error.description)
    return HELP.get(error.code or 500, str(error.description or ""))


def render_error(error: HTTPException) -> Response | HTTPException:
    """The error page in the host's layout; Werkzeug's own page if even that cannot be rendered."""
    if error.code is None or error.code >= 500:
        return error
    from .views import template_globals  # the pages' globals: the blueprint's context processor may not have run

    try:
        body = render_template("home_visits/error.html", error=error, message=message(error), **template_globals())
    except Exception:  # a broken host template must not turn a 404 into a 500
        log.exception("Home visits: the error page could not be rendered in %s",
                      current_app.config["HOME_VISITS_BASE_TEMPLATE"])
        return error
    response = Response(body, error.code, mimetype="text/html")
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def under_prefix() -> bool:
    """True for a URL under the plugin's prefix that matched no rule (or not with this method)."""
    prefix = current_app.config["HOME_VISITS_URL_PREFIX"].rstrip("/")
    return request.path == prefix or request.path.startswith(prefix + "/")


def handle_routing_errors(app: Flask) -> None:
    """404 and 405 from URL matching belong to no blueprint: render ours under the plugin's prefix and hand
    anything else to whatever handler the host registered before (or Werkzeug's page)."""
    for code, cls in ((404, NotFound), (405, MethodNotAllowed)):
        previous = app.error_handler_spec.get(None, {}).get(code, {}).get(cls)
        app.register_error_handler(code, _routing_handler(previous))


def _routing_handler(previous: Callable[[Any], Any] | None) -> Callable[[HTTPException], Any]:
    def handler(error: HTTPException) -> Any:
        if under_prefix():  # the app's handler for this code runs before the blueprint's by-code handlers
            return render_error(error)
        return previous(error) if previous is not None else error

    return handler


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
