"""The handbook, served by the plugin under its own prefix to signed-in people with a role here."""

from __future__ import annotations

from flask import current_app, render_template, send_from_directory
from werkzeug.wrappers import Response

from ..handbook_site import is_built, site_dir
from .context import current_person

#: The handbook holds no personal data, but it is the school's own policy: staff only, like the rest.
HANDBOOK_CSP = "; ".join([
    "default-src 'self'",
    # MkDocs Material writes small inline scripts (its palette and search configuration) into every page.
    "script-src 'self' 'unsafe-inline'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def handbook(path: str) -> Response | tuple[str, int]:
    me = current_person()
    config = current_app.config
    site = site_dir(config["HOME_VISITS_HANDBOOK_DIR"], current_app.instance_path)
    if not is_built(site):
        return render_template("home_visits/handbook_missing.html", me=me, site=site), 404
    if not path or path.endswith("/"):
        path += "index.html"
    elif (site / path).is_dir():
        path += "/index.html"
    response = send_from_directory(site, path, max_age=300)
    response.headers["Content-Security-Policy"] = HANDBOOK_CSP
    return response
