"""``flask home-visits ...`` commands for IT staff and cron: each calls services, never a view, and commits
the unit of work it started."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from . import db, files
from .calendar.service import feed_bytes, scope_of, window_from_config
from .db import unit_of_work
from .handbook.site import HandbookError, Source, build, school_site, site_dir
from .mail.app import mail_context
from .mail.notices import Sent, deliver
from .models import Visit
from .people import Person
from .plans.notices import digest, reminders
from .records.notices import record_reminders
from .records.service import log_access
from .reports import retention, subject_access
from .safety import channels, words
from .safety.result import Result
from .safety.sweep import record_run, sweep
from .state import state
from .web import links
from .web.links import visit_links


def _warn_about_links() -> None:
    """Commands that email or write links say once when those links will be wrong."""
    if not links.configured(current_app):
        click.echo(f"Warning: {links.UNSET_WARNING}", err=True)


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
    st = state(current_app)
    db.upgrade(st.engine, revision, first_school=st.schools.first.id)
    click.echo(f"Home visits database is at {revision}.")


def _school_option(school_id: str | None) -> str | None:
    """``--school``'s id when it names a configured school; exits 2 naming the configured ids when not."""
    ids = state(current_app).schools.ids
    if school_id is not None and school_id not in ids:
        raise click.BadParameter(f"no school {school_id!r} is configured; the schools are: {', '.join(ids)}",
                                 param_hint="--school")
    return school_id


@home_visits_cli.command("publish")
@click.option("--out", default="calendars/visits.ics", show_default=True, type=click.Path(dir_okay=False),
              help="Where to write the .ics file (replaced atomically).")
@click.option("--scope", type=click.Choice(["all", "user"]), default="all", show_default=True,
              help="Every visit, or one person's (with --user).")
@click.option("--user", "user_id", help="With --scope user: the host user id whose visits to publish.")
@click.option("--school", "school_id", help="Only this school's visits (its id: flask home-visits schools).")
@click.option("--trust", is_flag=True, help="Every school's visits, each title naming its school.")
@with_appcontext
def publish(out: str, scope: str, user_id: str | None, school_id: str | None, trust: bool) -> None:
    """Write the visits calendar to a file, for schools that share a file instead of a feed URL. A trust's
    portal names the school (--school ID) or asks for the trust's whole calendar (--trust)."""
    st, config = state(current_app), current_app.config
    if scope == "user" and not user_id:
        raise click.UsageError("--scope user needs --user ID.")
    if scope == "user" and st.directory.find(user_id or "") is None:
        raise click.BadParameter(f"no member of staff with id {user_id!r}", param_hint="--user")
    ids = ", ".join(st.schools.ids)
    if school_id and trust:
        raise click.UsageError(f"Give --school ID or --trust, not both. The schools are: {ids}")
    if st.schools.trust and scope == "all" and not (school_id or trust):
        raise click.UsageError(f"This portal serves several schools: name one with --school ID, or give --trust "
                               f"for all of them. The schools are: {ids}")
    schools = [_school_option(school_id)] if school_id else st.schools.ids
    _warn_about_links()
    with st.sessions() as session:
        body = feed_bytes(session, schools=st.schools, scope=scope_of(user_id if scope == "user" else None,
                          schools if scope == "all" else (), schools), directory=st.directory, config=config,
                          link=visit_links(), now=st.clock(), window=window_from_config(config))
    target = Path(out)
    files.make_folder(target.parent, mode=config["HOME_VISITS_DIRECTORY_MODE"])
    files.write(target, body, mode=config["HOME_VISITS_FILE_MODE"])
    click.echo(f"Wrote {body.count(b'BEGIN:VEVENT')} visits to {target}.")


#: What ``flask home-visits escalate`` exits with, for cron's mail and monitoring.
ALL_SENT, MAIL_FAILED, SWEEP_FAILED = 0, 1, 2


def run_escalation() -> tuple[Result, Sent]:
    """One run of ``flask home-visits escalate`` in the current app's context: the escalation sweep, then the
    plan emails that could not go at once. Raises when the sweep as a whole fails. (The demo portal's
    background thread runs exactly this; a deployment runs the command from cron.)"""
    st = state(current_app)
    with st.sessions() as session:
        context = mail_context()
        result = sweep(session, context, st.clock())
        plans = deliver(session, context, st.clock())  # plan emails that could not go at once
    return result, plans


@home_visits_cli.command("escalate")
@with_appcontext
def escalate() -> None:
    """Email the contacts of every overdue visit and missed check-out, once per tier; retry mail that
    failed. Run from cron. Exits 0 when every due email went, 1 when mail could not be sent (it is
    retried at the next run), 2 when the sweep failed on a visit or as a whole (a bug to report)."""
    _warn_about_links()
    try:
        result, plans = run_escalation()
    except Exception as error:  # noqa: BLE001 - cron must hear why, in the last line and the exit code
        current_app.logger.exception("The escalation sweep failed")
        click.echo(f"The escalation sweep itself failed ({type(error).__name__}: {error}); no visit was checked. "
                   f"Report this to whoever supports the portal. (exit {SWEEP_FAILED})")
        raise SystemExit(SWEEP_FAILED) from None
    click.echo(f"Escalation sweep: {result}; plan emails: {plans.sent} sent, {plans.failed} failed.")
    for visit_id, problem in sorted(result.broken.items()):
        click.echo(f"visit {visit_id}: {problem}")
    went = f"Sent: {result.channel_counts()}."
    unsent = [f"{count} {what}" for count, what in ((result.failed + plans.failed, "email(s)"),
                                                    (result.channels_failed, "webhook message(s)")) if count]
    if result.broken:
        ids = ", ".join(str(i) for i in sorted(result.broken))
        click.echo(f"The sweep failed on {len(result.broken)} visit(s) ({ids}) and checked every other one; each of "
                   f"those visits' history says what went wrong. Report this. {went} (exit {SWEEP_FAILED})")
        raise SystemExit(SWEEP_FAILED)
    if unsent:
        click.echo(f"{' and '.join(unsent)} could not be sent; they will be retried at the next run. {went} "
                   f"(exit {MAIL_FAILED})")
        raise SystemExit(MAIL_FAILED)
    click.echo(f"All due alerts were sent. {went} (exit {ALL_SENT})")


def _plan_emails(job: str, queue: Callable[..., Any]) -> tuple[Any, Any]:
    """Queue a job's plan emails, send them, and note that the job ran."""
    _warn_about_links()
    st = state(current_app)
    with st.sessions() as session:
        context, now = mail_context(), st.clock()
        with unit_of_work(session):
            queued = queue(session, context, now)
        sent = deliver(session, context, now)
        with unit_of_work(session):
            record_run(session, job, now, f"queued: {queued}")
    return queued, sent


@home_visits_cli.command("remind")
@with_appcontext
def remind() -> None:
    """Remind approvers of undecided plans that start soon (once per plan per day), and the lead of each
    visit back safe with no record (once, the next school morning). Run each school morning."""
    counts: dict[str, int] = {}

    def both(session: Any, context: Any, now: Any) -> int:
        counts["plans"], counts["records"] = reminders(session, context, now), record_reminders(session, context, now)
        return counts["plans"] + counts["records"]

    queued, sent = _plan_emails("remind", both)
    click.echo(f"Reminders: {queued} queued, {sent.sent} sent, {sent.failed} failed "
               f"(plans to decide: {counts['plans']}, records to write: {counts['records']}).")


@home_visits_cli.command("digest")
@with_appcontext
def digest_command() -> None:
    """Email the office today's visits (once a day, only when there are visits; in a trust each office
    its own school's, and someone who is the office at several schools one digest of them). Run each morning."""
    queued, sent = _plan_emails("digest", digest)
    said = "nothing to send" if not queued else "queued" if queued == 1 else f"{queued} queued"
    click.echo(f"Digest: {said}; {sent.sent} sent, {sent.failed} failed.")


def _retention_years(school: str | None) -> int:
    """``HOME_VISITS_RETENTION_YEARS``, else the period in the policy of ``school`` (``None``: the portal's)."""
    years = current_app.config["HOME_VISITS_RETENTION_YEARS"]
    st = state(current_app)
    return int(years) if years else (st.policy_for(school) if school else st.policy).rules.retention_years


@home_visits_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
@click.option("--school", "school_id", help="Only this school's visits (its id: flask home-visits schools).")
@with_appcontext
def purge_command(dry_run: bool, school_id: str | None) -> None:
    """Remove visits (with their records and history) older than the retention period: in a trust, each
    school's visits by its own policy's period."""
    st, school = state(current_app), _school_option(school_id)
    # A one-school portal purges every visit as it always did; a trust, each school in turn.
    schools = [school] if school or not st.schools.trust else list(st.schools.ids)
    now = st.clock()
    with st.sessions() as session:
        for each in schools:
            years = _retention_years(each)
            named = f"{st.schools.of(each).name}: " if each and not school else ""
            if dry_run:
                due = retention.due(session, now, years, school=each)
                for visit in due:
                    start = visit.starts_at.date().isoformat() if visit.starts_at else "undated"
                    click.echo(f"visit {visit.id}: {start}, {visit.pupil_initials}, {visit.state}")
                click.echo(f"{named}{len(due)} visits are older than {years} years and would be removed (dry run).")
                continue
            with unit_of_work(session):
                count = retention.purge(session, now, years, school=each)
            click.echo(f"{named}Removed {count} visits older than {years} years.")


def _name_of(st: Any) -> Any:
    """A person's name from their id (the id itself never shows: "a member of staff" when unknown)."""

    def name(person_id: str) -> str:
        person = st.directory.find(person_id) if person_id else None
        if person is not None:
            return person.name
        return {"system": "The portal's automatic safety check", "cli": "The school's data protection export"}.get(
            person_id, "A member of staff")

    return name


@home_visits_cli.command("export")
@click.option("--pupil", required=True, help="The pupil's name or reference, as staff typed it.")
@click.option("--out", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the JSON and HTML files.")
@click.option("--school", "school_id", help="Only what this school holds (its id: flask home-visits schools).")
@with_appcontext
def export_command(pupil: str, out: str, school_id: str | None) -> None:
    """Subject access: write everything held about one pupil (by one school, or by every school) as JSON
    and a readable HTML page."""
    st, school = state(current_app), _school_option(school_id)
    with st.sessions() as session, unit_of_work(session):
        export = retention.export_pupil(session, pupil, school=school)
        exporter = Person("cli", "Subject access export")
        for row in export["tables"]["home_visits_visit"]:
            visit = session.get(Visit, row["id"])
            assert visit is not None
            log_access(session, visit, exporter, "exported", st.clock())
    config = current_app.config
    folder = files.make_folder(Path(out), mode=config["HOME_VISITS_DIRECTORY_MODE"])
    stem = "home-visits-" + (f"{school}-" if school else "") + (
        re.sub(r"[^a-z0-9]+", "-", pupil.lower()).strip("-") or "pupil")
    mode = config["HOME_VISITS_FILE_MODE"]
    files.write(folder / f"{stem}.json", json.dumps(export, indent=2, ensure_ascii=False), mode=mode)
    policy = st.policy_for(school) if school else st.policy
    document = subject_access.readable(export, policy=policy, name=_name_of(st), made=st.clock())
    page = current_app.jinja_env.get_template("home_visits/subject_access.html").render(doc=document)
    files.write(folder / f"{stem}.html", page, mode=mode)
    click.echo(f"Wrote {export['visits']} visits to {folder / stem}.json and .html")


@home_visits_cli.group("schools", invoke_without_command=True)
@with_appcontext
def schools_group() -> None:
    """List the configured schools, one a line: the id, a tab, the name. Exits 1, saying so on stderr, when
    the database holds visits of a school that is not configured (no page, feed or job shows them):
    ``schools move OLD NEW`` gives them to a configured school."""
    if click.get_current_context().invoked_subcommand is not None:
        return
    st = state(current_app)
    for school in st.schools:
        click.echo(f"{school.id}\t{school.name}")
    with st.sessions() as session:
        stray = retention.unconfigured(session, st.schools.ids)
    if stray:
        listed = ", ".join(f"{school} ({count})" for school, count in stray.items())
        click.echo(f"{sum(stray.values())} visits belong to schools that are not configured: {listed}. No page, "
                   "feed or job shows them: name the school in HOME_VISITS_SCHOOLS again, or give them to a "
                   "school with: flask home-visits schools move OLD NEW. (exit 1)", err=True)
        raise SystemExit(1)


@schools_group.command("move")
@click.argument("old")
@click.argument("new")
@with_appcontext
def move_command(old: str, new: str) -> None:
    """Give every visit of school id OLD to the configured school NEW (each visit's history says so)."""
    st = state(current_app)
    if new not in st.schools.ids:
        raise click.BadParameter(f"no school {new!r} is configured; the schools are: {', '.join(st.schools.ids)}",
                                 param_hint="NEW")
    with st.sessions() as session, unit_of_work(session):
        moved = retention.move_school(session, old[:40], new, st.clock())
    click.echo(f"Moved {moved} visits from {old[:40]!r} to {new!r}." if moved else f"No visits belong to {old[:40]!r}.")


@home_visits_cli.group("alerts")
def alerts_group() -> None:
    """The alert channels: email and the webhooks of HOME_VISITS_ALERT_WEBHOOKS."""


@alerts_group.command("test")
@with_appcontext
def alerts_test() -> None:
    """Send one marked test message to every office and out-of-hours address and every webhook channel,
    then print each channel's last success and last failure. Exits 1 when a channel failed just now."""
    st = state(current_app)
    result = Result()
    with st.sessions() as session:
        context = mail_context()
        channels.send_test(session, context, st.clock(), result)
        health = channels.health(session)
        for name in ["email", *context.channels]:
            click.echo(words.channel_report(name, health.get(name), st.policy.zone))
    failed = result.failed + result.channels_failed
    if failed:
        click.echo(f"{failed} channel(s) did not take the test message; see above. (exit {MAIL_FAILED})")
        raise SystemExit(MAIL_FAILED)
    click.echo(f"Every channel took the test message: {result.channel_counts()}. (exit {ALL_SENT})")


@home_visits_cli.group("handbook")
def handbook_group() -> None:
    """The staff handbook (MkDocs), built from the school's policy and served by the plugin."""


@handbook_group.command("build")
@click.option("--out", type=click.Path(file_okay=False),
              help="Where to write the site (default: HOME_VISITS_HANDBOOK_DIR, else the instance folder).")
@click.option("--school", "school_id", help="Only this school's handbook (its id: flask home-visits schools).")
@with_appcontext
def build_command(out: str | None, school_id: str | None) -> None:
    """Build the handbook from HOME_VISITS_POLICY; the portal serves it at once, no restart needed. In a trust,
    each school's (or --school's) from its own policy, into a folder of its own named by its id."""
    config, st, school = current_app.config, state(current_app), _school_option(school_id)
    root = site_dir(out or config["HOME_VISITS_HANDBOOK_DIR"], current_app.instance_path)
    for each in [school] if school else st.schools.ids:
        trust = st.schools.trust
        site, source = school_site(root, each, trust=trust), Source.of(st.schools.of(each), trust=trust)
        started = time.monotonic()
        try:
            build(site, source=source)
        except HandbookError as error:
            raise click.ClickException(str(error)) from None
        whose = f" of {source.name}" if st.schools.trust else ""
        path = f"{each}/" if st.schools.trust else ""
        served = "" if out else f" It is served at {config['HOME_VISITS_URL_PREFIX'].rstrip('/')}/handbook/{path}."
        click.echo(f"Built the handbook{whose} from {source.policy or 'the shipped policy'} into {site} "
                   f"in {time.monotonic() - started:.1f} s.{served}")
