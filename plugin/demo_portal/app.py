"""The demo host: its own login, navigation and base template, with the plugin embedded."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from flask import Flask, abort, redirect, render_template, request, session, url_for
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import InputRequired, Length

from home_visits import HomeVisits, files
from home_visits.extension import state

from . import live, security
from .handbook import ensure_handbooks
from .seed import reset_demo, seed_demo_visits
from .users import demo_users

home_visits = HomeVisits()

#: The demo trust's policies: the trust's, which each school's file extends.
POLICIES = Path(__file__).with_name("policies")

#: The demo is a small trust. Exampleton Primary (the first school) keeps the one-school demo's accounts;
#: Ash Hill Academy and Elm Road Infants have their own staff, approver and office; the trust's attendance officer
#: plans at the first two, and its safeguarding lead sees all three.
#: Each school's policy extends the trust's, with its own office hours.
SCHOOLS = [
    {"id": "oak", "name": "Exampleton Primary", "short": "Exampleton", "policy": str(POLICIES / "oak.yaml"),
     "office_email": "office@school.example"},
    {"id": "ash", "name": "Ash Hill Academy", "short": "Ash Hill", "policy": str(POLICIES / "ash.yaml"),
     "office_email": "office@ash-hill.example", "out_of_hours_email": "on-call@ash-hill.example"},
    {"id": "elm", "name": "Elm Road Infants", "short": "Elm Road", "policy": str(POLICIES / "elm.yaml")},
]


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[InputRequired("Enter your username."), Length(max=40)])
    password = PasswordField("Password", validators=[InputRequired("Enter your password."), Length(max=200)])
    submit = SubmitField("Log in")


def _secret_key(instance: Path) -> str:
    """The portal's secret key, made once and written owner-only: whoever reads it can forge a session."""
    file = instance / "secret_key"
    if not file.exists():
        files.make_folder(instance)
        files.write(file, secrets.token_hex(32))
    return file.read_text().strip()


class LogoutForm(FlaskForm):
    """Logging out is a POST with the CSRF token: another site cannot sign people out."""


def create_app(config: dict[str, Any] | None = None, *, instance_path: str | None = None) -> Flask:
    """The demo portal. ``instance_path`` (else ``FLASK_DEMO_INSTANCE_PATH``, else Flask's instance folder) holds
    its SQLite file, secret key and built handbook.

    Settings, each over the one before: the demo's defaults; ``config.py`` in the instance folder, if there
    is one; environment variables named ``FLASK_`` + the key (``FLASK_HOME_VISITS_SMTP_HOST=mail.school.example``,
    values read as JSON where they parse: ``FLASK_HOME_VISITS_SMTP_PORT=587``); then ``config``.
    """
    instance_path = instance_path or os.environ.get("FLASK_DEMO_INSTANCE_PATH") or None  # another folder: a fresh demo
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    app.config.update(
        HOME_VISITS_BASE_TEMPLATE="portal_base.html",
        HOME_VISITS_POLICY=str(POLICIES / "trust.yaml"),
        HOME_VISITS_SCHOOLS=SCHOOLS,
        DEMO_BUILD_HANDBOOK=True,
        DEMO_SEED=True,
        # The demo's living parts (demo only; see live.py): its clock's start (unset: now), whether the mail
        # server and the sweep thread run (None: when `flask run` serves it), the mail server's loopback port
        # (0: a free one), and how often the sweep runs.
        DEMO_NOW=None,
        DEMO_LIVE=None,
        DEMO_SMTP_PORT=0,
        DEMO_SWEEP_SECONDS=60,
        MAX_CONTENT_LENGTH=1024 * 1024,
        # Where `flask --app demo_portal run` serves it; links in emails and calendars start with this.
        HOME_VISITS_PUBLIC_URL="http://127.0.0.1:5000",
        # A signed cookie is refused after this, whatever the browser keeps (Flask's default: 31 days).
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
    )
    security.configure(app, {})  # the demo's cookie settings, which the files and variables below may change
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env()
    app.config.update(config or {})
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(Path(app.instance_path))

    # The demo's own mail server, unless the settings name a real one (read before the plugin's defaults).
    serving = live.serving(app.config)
    catch_mail = serving and "HOME_VISITS_SMTP_HOST" not in app.config
    users = demo_users()
    versions = security.SessionVersions(Path(app.instance_path) / "session_versions.json")
    login = LoginManager(app)
    login.login_view = "login"

    @login.user_loader
    def load_user(user_id: str) -> Any:
        """The user, unless they logged out since this session began (a copied cookie ends at logout)."""
        user = users.get(user_id)
        if user is None or session.get("session_version") != versions.current(user_id):
            return None
        return user

    home_visits.init_app(app, users=users.values)
    security.add_headers(app)
    st = state(app)
    clock = live.demo_clock(app.config["DEMO_NOW"], st.schools.first.policy.zone)
    if clock is not None:
        st.clock = clock
    mailbox = live.start_mail_server(app, st.clock) if catch_mail else None

    @app.route("/")
    @login_required
    def index() -> str:
        return render_template("index.html")

    @app.route("/mailbox")
    @login_required
    def demo_mailbox() -> str:
        """Every email the demo's mail server received, newest first (demo only: nothing leaves the machine)."""
        mails = mailbox.mails() if mailbox else []
        return render_template("mailbox.html", mails=mails, running=mailbox is not None,
                               zone=st.schools.first.policy.zone)

    def login_page() -> Any:
        form = LoginForm()
        if form.validate_on_submit():
            user = users.get(form.username.data or "")
            if security.password_matches(user.password_hash if user else None, form.password.data or ""):
                assert user is not None
                session.clear()  # a fresh session: nothing carried over from before the login
                session["session_version"] = versions.current(user.id)
                login_user(user)
                return redirect(security.safe_next(request.args.get("next", ""), url_for("index")))
            form.password.errors.append("That username and password do not match.")
        return render_template("login.html", form=form), 200 if request.method == "GET" else 422

    app.add_url_rule("/login", "login", security.throttle_logins(app, login_page), methods=["GET", "POST"])

    @app.errorhandler(429)
    def too_many(_error: Exception) -> Any:
        form = LoginForm()
        form.password.errors = ["Too many tries. Wait 15 minutes, then try again."]
        return render_template("login.html", form=form), 429

    @app.post("/logout")
    def logout() -> Any:
        if not LogoutForm().validate():
            abort(400, "The request was incomplete or expired: reload the page and try again.")
        if current_user.is_authenticated:
            versions.end_sessions(current_user.get_id())  # every session of this user, copies too
        logout_user()
        session.clear()
        return redirect(url_for("login"))

    @app.route("/handbook/", defaults={"path": ""})
    @app.route("/handbook/<path:path>")
    def handbook(path: str) -> Any:
        """Old links: the plugin serves the handbook under its own prefix."""
        return redirect(url_for("home_visits.handbook", path=path), 301)

    @app.context_processor
    def portal() -> dict[str, Any]:
        return {"current_user": current_user, "logout_form": LogoutForm()}

    if app.config["DEMO_BUILD_HANDBOOK"]:
        ensure_handbooks(app.config, app.instance_path)
    if app.config["DEMO_SEED"]:
        seed_demo_visits(app, users)

    @app.cli.group("demo")
    def demo() -> None:
        """The demo portal's own commands."""

    @demo.command("reset")
    def reset() -> None:
        """Empty the demo's database and seed every school again around now."""
        made = reset_demo(app, users)
        click.echo(f"The demo was reset: {made} visits seeded around now at every school.")

    if serving:
        live.start_sweeper(app)
    return app
