"""The Subscribe page and the calendar feed URL that Outlook polls."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from time import monotonic

from flask import Response, abort, current_app, render_template, request
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import SubmitField

from ..clock import midnight as school_midnight
from ..db import unit_of_work
from ..mail.app import mail_context
from ..models import Visit
from ..people import Person
from ..plans import workflow
from ..web.context import current_person, get_session, get_state, schools_where
from ..web.links import base_url, public_url, visit_link, visit_links
from . import invites
from . import service as feeds

NO_REFERRER = {"Referrer-Policy": "no-referrer"}
#: Built feeds kept per process: one per subscriber of a personal feed, one for all approvers.
FEED_CACHE_SIZE = 32


class LinkForm(FlaskForm):
    create = SubmitField("Create my calendar link")
    revoke = SubmitField("Stop my calendar link")


def scope_of(person: Person) -> feeds.Scope:
    """What ``person``'s feed holds: every visit of the schools where they see everything, and their own."""
    return feeds.scope_of(person.id, schools_where(person, workflow.sees_everything), get_state().schools.ids)


def subscribe() -> tuple[str, int, dict[str, str]]:
    me = current_person()
    st, session = get_state(), get_session()
    form, token, status = LinkForm(), None, 200
    scope = scope_of(me)
    if request.method == "POST":
        if not form.validate() or not (form.create.data or form.revoke.data):
            abort(400, "The request was incomplete or expired: reload the page and try again.")
        now = st.clock()
        with unit_of_work(session):
            if form.create.data:
                token = feeds.issue(session, me, scope=scope.stored, now=now)
            else:
                feeds.revoke(session, me.id, now)
    https = public_url("home_visits.feed", token=token) if token else None
    page = render_template(
        "home_visits/subscribe.html", me=me, form=form, https_url=https,
        webcal_url=https and "webcal://" + https.split("://", 1)[1],
        active=feeds.active_token(session, me.id),
        scope=scope.stored, invites=scope.stored != feeds.OWN,  # approvers and office may take invitations
        overseen=[school.name for school in st.schools if school.id in scope.everything] if st.schools.trust else [],
    )
    return page, status, NO_REFERRER


def feed(token: str) -> Response:
    """The feed Outlook polls: one query decides between 304 and a (cached) 200."""
    st, config = get_state(), current_app.config
    policy, now = st.policy, st.clock()
    grace = timedelta(minutes=policy.rules.grace_minutes)
    # In a trust each visit goes overdue by its own school's grace; the longest bounds when the last did.
    graces = {school.id: timedelta(minutes=school.policy.rules.grace_minutes) for school in st.schools}
    if st.schools.trust:
        grace = max(graces.values())
    with st.engine.connect() as connection:
        polled = feeds.poll(connection, token, late=now - grace,
                            lates={school: now - each for school, each in graces.items()} if st.schools.trust else None)
    person = st.directory.find(polled.person_id) if polled else None
    if polled is None or person is None:
        abort(404)
    scope = scope_of(person)
    window = feeds.window_from_config(config)
    staff, staff_changed = st.staff_mark.current(st.directory, now=now, monotonic=monotonic())
    settings = repr((scope.key, window, config["HOME_VISITS_FEED_DETAIL"], config["HOME_VISITS_FEED_REFRESH"],
                     config["HOME_VISITS_FEED_NAME"], config["HOME_VISITS_DOMAIN"], policy.school.timezone, staff,
                     base_url()))  # the links inside differ by base, so a cached feed must too
    today = now.astimezone(policy.zone).date()
    tag = feeds.etag(polled, scope.key, today.isoformat(), settings)
    # The window moves at midnight, and visits go overdue with no change to any record.
    midnight = school_midnight(now, policy.zone).astimezone(timezone.utc)
    moments = [polled.changed_at, midnight, staff_changed]
    if polled.latest_overdue:
        moments.append(polled.latest_overdue + grace)
    # A trust's longest grace may put that moment ahead of now: never claim a change that has not happened.
    last_modified = (min(max(moments), now) if st.schools.trust else max(moments)).replace(microsecond=0)
    headers = {"Cache-Control": "private, no-cache", "Content-Type": "text/calendar; charset=utf-8"}
    if request.if_none_match:
        fresh = request.if_none_match.contains(tag)
    else:
        fresh = request.if_modified_since is not None and last_modified <= request.if_modified_since
    if fresh:
        response = Response(status=304, headers=headers)
    else:
        key = (polled.counter, scope.key, today, settings, polled.overdue)  # what the ETag stands for
        body = st.feed_cache.get(key)
        if body is None:
            # The app's bound, read here because the extension makes the (per-app) state before any request.
            st.event_cache.resize(config["HOME_VISITS_FEED_EVENT_CACHE"])
            body = st.feed_cache[key] = feeds.feed_bytes(
                get_session(), schools=st.schools, scope=scope, directory=st.directory, config=config,
                link=visit_links(), now=now, window=window, cache=st.event_cache)
            while len(st.feed_cache) > FEED_CACHE_SIZE:
                st.feed_cache.popitem(last=False)
        response = Response(body, headers=headers)
    response.set_etag(tag)
    response.last_modified = last_modified
    return response


def invite(session: Session, visit: Visit, now: datetime) -> None:
    """After a decision or an edit: the calendar invitations it calls for (the ``on_visit_change`` hook);
    they go with the request's other emails (``send_notices``) and are retried by the sweep."""
    invites.queue_invitations(session, visit, mail_context(), config=current_app.config, link=visit_link, now=now)
