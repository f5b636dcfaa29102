"""The plugin's error pages (400, 401, 403, 404, 405, 409, 413) inside the host's base template, each with a
sentence that helps, for the plugin's own routes only; and :class:`FormErrors`, a form's errors shown on
the page that holds the form."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, render_template, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.wrappers import Response

from ..state import EXTENSION_KEY

log = logging.getLogger("home_visits")


class FormErrors(Exception):
    """A form posted from another page had errors (or met a conflict): that page is shown again with the
    form and its messages, answering ``status``. A domain's view raises it with the page's ``subject`` (the
    visit) and its form by name (``extend_form=form``); the page's renderer, registered for this error by
    the pages on top, draws it, so no domain imports the page."""

    def __init__(self, subject: Any, *, status: int, **forms: Any) -> None:
        super().__init__(f"form errors ({status})")
        self.subject, self.status, self.forms = subject, status, forms

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

def message(error: HTTPException) -> str:
    """The reason the code gave (``abort(400, "...")``), else the helpful sentence for the status."""
    if error.description and error.description != type(error).description:
        return str(error.description)
    return HELP.get(error.code or 500, str(error.description or ""))


def render_error(error: HTTPException) -> Response | HTTPException:
    """The error page in the host's layout; Werkzeug's own page if even that cannot be rendered."""
    if error.code is None or error.code >= 500:
        return error
    if isinstance(error, RequestEntityTooLarge):
        # The body is never read: a host's layout that builds a form (a logout button) reads an empty one.
        request.form = request.files = ImmutableMultiDict()  # type: ignore[misc]
    try:  # the pages' globals given here: the blueprint's context processor may not have run
        body = render_template("home_visits/error.html", error=error, message=message(error), **page_globals())
    except Exception:  # a broken host template must not turn a 404 into a 500
        log.exception("Home visits: the error page could not be rendered in %s",
                      current_app.config["HOME_VISITS_BASE_TEMPLATE"])
        return error
    response = Response(body, error.code, mimetype="text/html")
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def page_globals() -> dict[str, Any]:
    """What the blueprint's context processors give its pages (the menu, the layout's name), for an error
    page rendered where the blueprint's own processors do not run (a URL that matched no rule)."""
    context: dict[str, Any] = {}
    for processor in current_app.template_context_processors.get(EXTENSION_KEY, ()):
        context.update(processor())
    return context


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
