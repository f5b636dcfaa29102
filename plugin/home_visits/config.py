"""Every ``HOME_VISITS_*`` configuration key, its default and what it does.

The host sets any of these in its own config before (or instead of) the default;
:func:`apply_defaults` only fills in what the host left out.
"""

from __future__ import annotations

from typing import Any

#: Path of the school's policy YAML file. ``None``: the policy shipped with the plugin. (The plugin reads
#: only the app's config; a host that wants it from the environment loads it there, as the demo does.)
HOME_VISITS_POLICY: str | None = None

#: The schools of a trust, in order: a list of mappings, each with ``id`` (lower-case letters, digits
#: and ``-``; stored on its visits and used in role names such as ``north:approver``), ``name``, and
#: optionally ``short`` (before event titles in a feed of several schools), ``policy`` (the school's
#: policy file, which may ``extends: trust``: ``HOME_VISITS_POLICY`` is then the trust's), ``office_email``
#: and ``out_of_hours_email``. ``None``: the portal is one school (its policy is ``HOME_VISITS_POLICY``).
#: The first school takes visits stored before schools existed, and plain role names (``approver``);
#: ``trust:approver`` is a role at every school. The README's "Running it for a trust" says more.
HOME_VISITS_SCHOOLS: list[dict[str, str]] | None = None

#: Where the plugin's pages are mounted in the host portal.
HOME_VISITS_URL_PREFIX = "/home-visits"

#: The template the plugin's pages extend. It must define ``{% block title %}`` and
#: ``{% block content %}``; the host names its own base so the pages sit in its navigation.
HOME_VISITS_BASE_TEMPLATE = "home_visits/base.html"

#: SQLAlchemy URL of the plugin's database. ``None`` means a SQLite file
#: ``home_visits.sqlite`` in the app's instance folder, created on first use.
HOME_VISITS_DATABASE_URI: str | None = None

#: Apply the plugin's Alembic migrations when the app starts, so a new database is ready
#: without a command. Set ``False`` where deployments run ``flask home-visits db upgrade``.
HOME_VISITS_AUTO_MIGRATE = True

#: Base URL of the staff handbook; each form section links to its page under it. ``None``: the plugin
#: serves the site that ``flask home-visits handbook build`` built, at ``<HOME_VISITS_URL_PREFIX>/handbook/``,
#: to signed-in users with a role here. Set it when the school hosts the handbook itself.
HOME_VISITS_HANDBOOK_URL: str | None = None

#: Where ``flask home-visits handbook build`` writes the handbook site and the plugin serves it from.
#: ``None``: ``home_visits_handbook`` in the app's instance folder.
HOME_VISITS_HANDBOOK_DIR: str | None = None

#: The attribute of the host's user objects that holds each person's permanent id, which the plugin
#: stores on plans, records and calendar links (read by the default directory). It must never change:
#: not ``fs_uniquifier`` or anything else a password change replaces. A user without it is known by
#: ``get_id()``, with a warning in the log.
HOME_VISITS_USER_ID_ATTR = "id"

#: The endpoint of the host's login page, where strangers to the plugin's pages are sent (with
#: ``?next=``). ``None``: Flask-Login's ``login_view``. When neither builds, strangers get a 401 page
#: that asks them to log in, and the log says once which setting to fix. Flask-AppBuilder's is
#: ``"AuthDBView.login"`` (or the ``.login`` of its ``auth_view``).
HOME_VISITS_LOGIN_ENDPOINT: str | None = None

#: Visits per page on the "my visits" list and the approvals queue.
HOME_VISITS_PER_PAGE = 20

#: Domain used in calendar UIDs and email links (``home-visit-<id>@<domain>``).
HOME_VISITS_DOMAIN = "school.example"


#: The name Outlook and other calendar apps show for the subscribed visits calendar.
HOME_VISITS_FEED_NAME = "Home visits"

#: How much each calendar event says: ``"full"`` (staff phones, responsible contact, risk flags)
#: or ``"limited"`` (who, when, where and a link to the portal).
HOME_VISITS_FEED_DETAIL = "full"

#: Send each approver and office member every authorised visit of their school as a calendar invitation by
#: email (iMIP: METHOD:REQUEST with the feed's UID, a higher SEQUENCE on each re-authorised change, CANCEL
#: when it is called off), so it is in Outlook within a minute instead of at the next feed refresh. Each
#: person can turn them off (or on) on Email settings; this is the default for those who have not chosen.
HOME_VISITS_CALENDAR_INVITES = False

#: How often subscribers are asked to refresh (an RFC 5545 duration; Outlook honours it within limits).
HOME_VISITS_FEED_REFRESH = "PT1H"

#: Seconds between looks at the host's staff list for changed names or phones, which the feeds
#: show: a change reaches subscribers at their next refresh after that.
HOME_VISITS_DIRECTORY_REFRESH = 60

#: How many calendar events' bytes each process keeps, by everything an event shows, so that a feed
#: after one visit changed serialises that one event again and joins the rest (the least recently used
#: go first). An event takes about 1.5 to 2 KB here; set it above the events in the biggest feed (times
#: the detail levels and public addresses served), or each build pushes out what the next one needs.
#: ``0`` turns the cache off.
HOME_VISITS_FEED_EVENT_CACHE = 50_000

#: The feed holds visits from this many days ago...
HOME_VISITS_FEED_DAYS_BACK = 30

#: ...up to this many days ahead.
HOME_VISITS_FEED_DAYS_AHEAD = 365

#: Public base URL of the portal (``"https://portal.school.example"``) for feed URLs and links in
#: calendar events and emails. ``None`` uses the URL of the request, or ``http://localhost`` in commands.
HOME_VISITS_PUBLIC_URL: str | None = None


#: The mail server the plugin sends alerts and notices through.
HOME_VISITS_SMTP_HOST = "localhost"

#: Its port (25 for a local relay, 587 with STARTTLS, 465 with SSL).
HOME_VISITS_SMTP_PORT = 25

#: Login for the mail server, if it needs one.
HOME_VISITS_SMTP_USERNAME: str | None = None

#: Password for the mail server, if it needs one.
HOME_VISITS_SMTP_PASSWORD: str | None = None

#: Upgrade the connection with STARTTLS.
HOME_VISITS_SMTP_STARTTLS = False

#: Connect with SSL from the start (port 465).
HOME_VISITS_SMTP_SSL = False

#: Seconds to wait for the mail server before counting the attempt as failed (it is retried).
HOME_VISITS_SMTP_TIMEOUT = 10

#: The address emails come from.
HOME_VISITS_MAIL_FROM = "home-visits@school.example"

#: Who the end-of-day escalation emails when someone is still out at closing time. ``None``: the approvers.
HOME_VISITS_OUT_OF_HOURS_EMAIL: str | None = None

#: Channels besides email that alerts can go to, by name: ``{"on-call": {"url": ..., "secret": "whsec_...",
#: "format": "standard"}}`` (a JSON string of the same from the environment works too). ``format`` is
#: ``standard`` (Standard Webhooks, signed with the ``whsec_`` secret: an SMS gateway, an alarm-receiving
#: centre) or ``teams`` (a Microsoft Teams Workflows webhook URL; no secret). A policy names a channel as
#: ``webhook:<name>`` in a tier's ``notify`` or in ``escalation.out_of_hours_channels``; a name it uses that
#: is missing here stops the portal at start-up. URLs and secrets live only here, never in the policy.
HOME_VISITS_ALERT_WEBHOOKS: dict[str, dict[str, str]] = {}

#: Seconds to wait for a webhook channel to answer. A channel that does not answer in time is given up for
#: the rest of that sweep (its messages wait for the next) and never holds up email or another channel.
HOME_VISITS_WEBHOOK_TIMEOUT = 5.0

#: Who else hears at once when a visit record reports an incident (the approvers always do):
#: for example the line manager and the health-and-safety lead.
HOME_VISITS_INCIDENT_EMAILS: tuple[str, ...] = ()

#: How many years visits and their records are kept before ``flask home-visits purge`` removes
#: them. ``None`` uses the policy's ``rules.retention_years``.
HOME_VISITS_RETENTION_YEARS: int | None = None

#: How often cron runs ``flask home-visits escalate``; the dashboard warns when the last sweep is
#: older than twice this.
HOME_VISITS_SWEEP_MINUTES = 5

#: Security headers on the plugin's pages, merged over the defaults in ``home_visits/headers.py``: a
#: Content-Security-Policy with no inline script and ``frame-ancestors 'none'``, ``X-Content-Type-Options:
#: nosniff``, ``Referrer-Policy: same-origin``, ``X-Frame-Options: DENY`` and ``Cache-Control: no-store``
#: (a view that sets its own Cache-Control, the calendar feed, keeps it). A string replaces or adds a
#: header, ``None`` leaves it out; for example ``{"Content-Security-Policy": "default-src 'self';
#: style-src 'self' https://cdn.school.example"}`` when the host's base template loads a stylesheet from
#: elsewhere. The host's own pages are never touched.
HOME_VISITS_SECURITY_HEADERS: dict[str, str | None] | None = None

#: The largest request body, in bytes, the plugin's pages accept (larger gets 413), even when the host
#: sets no ``MAX_CONTENT_LENGTH``; where both are set the smaller wins. ``None``: the host's limit only.
HOME_VISITS_MAX_CONTENT_LENGTH: int | None = 1024 * 1024


#: Permissions of the files the plugin writes: its SQLite database (and the journal files SQLite gives
#: the same), subject-access exports and published calendars. Owner-only by default; ``0o640`` lets a
#: group (say the backup user's) read them.
HOME_VISITS_FILE_MODE: int = 0o600

#: Permissions of the folders the plugin creates for those files (the instance folder, when it is the
#: plugin that creates it, an export's folder, the calendars folder).
HOME_VISITS_DIRECTORY_MODE: int = 0o700


def defaults() -> dict[str, Any]:
    """The documented defaults above, by key."""
    return {key: value for key, value in globals().items() if key.startswith("HOME_VISITS_")}


def apply_defaults(config: dict[str, Any]) -> None:
    """Fill in every key the host did not set (``setdefault``, as Flask's extension guide asks)."""
    for key, value in defaults().items():
        config.setdefault(key, value)
