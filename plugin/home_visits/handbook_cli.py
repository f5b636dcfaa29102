"""``flask home-visits handbook build``: the staff handbook from the school's policy, into the instance folder."""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import with_appcontext

from .handbook_site import HandbookError, build, site_dir


@click.group("handbook")
def handbook_group() -> None:
    """The staff handbook (MkDocs), built from the school's policy and served by the plugin."""


@handbook_group.command("build")
@click.option("--out", type=click.Path(file_okay=False),
              help="Where to write the site (default: HOME_VISITS_HANDBOOK_DIR, else the instance folder).")
@with_appcontext
def build_command(out: str | None) -> None:
    """Build the handbook from HOME_VISITS_POLICY; the portal serves it at once, no restart needed."""
    config = current_app.config
    site = site_dir(out or config["HOME_VISITS_HANDBOOK_DIR"], current_app.instance_path)
    policy = config["HOME_VISITS_POLICY"] or None
    started = time.monotonic()
    try:
        build(site, policy=policy)
    except HandbookError as error:
        raise click.ClickException(str(error)) from None
    served = "" if out else f" It is served at {config['HOME_VISITS_URL_PREFIX'].rstrip('/')}/handbook/."
    click.echo(f"Built the handbook from {policy or 'the shipped policy'} into {site} "
               f"in {time.monotonic() - started:.1f} s.{served}")
