"""The handbook, served by the plugin under its own prefix to signed-in people with a role here; in a trust,
each school's at ``<prefix>/handbook/<school id>/`` to the people of that school (404 to anyone else)."""

from __future__ import annotations

from pathlib import Path

from flask import abort, current_app, redirect, render_template, send_from_directory, url_for
from werkzeug.wrappers import Response

from ..people import ROLES
from ..web.context import current_person, get_state
from .site import is_built, school_site, site_dir

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
    schools = get_state().schools
    site = site_dir(current_app.config["HOME_VISITS_HANDBOOK_DIR"], current_app.instance_path)
    if not schools.trust:
        return _serve(site, path, school="")
    first, slash, rest = path.partition("/")
    if schools.get(first) is None:
        # A page named without its school (a link from a page about no one school): the person's school's
        # page, or a choice when they belong to several.
        theirs = [schools.of(school) for school in me.schools_with(ROLES, schools.ids)]
        if len(theirs) == 1:
            return redirect(url_for("home_visits.handbook", path=f"{theirs[0].id}/{path}"))
        return render_template("home_visits/handbook_schools.html", me=me, schools=theirs, page=path), 200
    if not me.at(first).has(*ROLES):
        abort(404)
    if not slash:
        return redirect(url_for("home_visits.handbook", path=f"{first}/"))
    return _serve(school_site(site, first, trust=True), rest, school=first)


#: No file of a built site has a longer path or name (file systems refuse names over 255 bytes).
LONGEST_PATH, LONGEST_NAME = 1000, 255


def _serve(site: Path, path: str, *, school: str) -> Response | tuple[str, int]:
    """A file of the built handbook in ``site``, or the page saying how to build it. Kept by the person's
    own browser for 5 minutes, never by a shared cache: the pages are the school's, for its staff only."""
    if len(path) > LONGEST_PATH or any(len(part.encode()) > LONGEST_NAME for part in path.split("/")):
        abort(404)
    if not is_built(site):
        return render_template("home_visits/handbook_missing.html", me=current_person(), site=site, school=school), 404
    if not path or path.endswith("/"):
        path += "index.html"
    elif (site / path).is_dir():
        path += "/index.html"
    response = send_from_directory(site, path, max_age=300)
    response.cache_control.public = False
    response.cache_control.private = True
    response.vary.add("Cookie")
    response.headers["Content-Security-Policy"] = HANDBOOK_CSP
    return response
