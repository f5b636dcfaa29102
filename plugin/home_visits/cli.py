"""``flask home-visits ...`` commands for IT staff and cron."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from . import db
from .extension import state


@click.group("home-visits")
def home_visits_cli() -> None:
    """Home visits: database and scheduled jobs."""


@home_visits_cli.group("db")
def db_group() -> None:
    """The plugin's database tables."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Migration to upgrade to.")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Create or upgrade the plugin's tables."""
    db.upgrade(state(current_app).engine, revision)
    click.echo(f"Home visits database is at {revision}.")


@home_visits_cli.command("publish")
@click.option("--out", default="calendars/visits.ics", show_default=True, type=click.Path(dir_okay=False),
              help="Where to write the .ics file (replaced atomically).")
@click.option("--scope", type=click.Choice(["all", "user"]), default="all", show_default=True,
              help="Every visit, or one person's (with --user).")
@click.option("--user", "user_id", help="With --scope user: the host user id whose visits to publish.")
@with_appcontext
def publish(out: str, scope: str, user_id: str | None) -> None:
    """Write the visits calendar to a file, for schools that share a file instead of a feed URL."""
    from .feed_views import feed_bytes, window_from_config

    if scope == "user" and not user_id:
        raise click.UsageError("--scope user needs --user ID.")
    if scope == "user" and state(current_app).directory.find(user_id or "") is None:
        raise click.BadParameter(f"no member of staff with id {user_id!r}", param_hint="--user")
    body = feed_bytes(window_from_config(), person_id=user_id if scope == "user" else None)
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("wb", dir=target.parent, prefix=f".{target.name}.", delete=False) as temp:
        temp.write(body)
        temp.flush()
        os.fsync(temp.fileno())
    os.chmod(temp.name, 0o640)
    os.replace(temp.name, target)
    click.echo(f"Wrote {body.count(b'BEGIN:VEVENT')} visits to {target}.")


@home_visits_cli.command("escalate")
@with_appcontext
def escalate() -> None:
    """Email the contacts of every overdue visit, once per tier; retry mail that failed. Run from cron."""
    from .escalation import sweep
    from .safety_views import escalation_context

    st = state(current_app)
    with st.sessions() as session:
        result = sweep(session, escalation_context(), st.clock())
    click.echo(f"Escalation sweep: {result}.")
    if result.failed:
        raise SystemExit(1)
