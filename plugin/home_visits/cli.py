"""``flask home-visits ...`` commands for IT staff and cron."""

from __future__ import annotations

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
