"""The demo host: its own login, navigation and base template, with the plugin embedded."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import Flask, redirect, render_template, request, url_for
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import InputRequired, Length

from home_visits import HomeVisits
from home_visits.handbook_site import site_dir

from .handbook import ensure_handbook
from .seed import seed_demo_visits
from .users import demo_users

home_visits = HomeVisits()


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[InputRequired("Enter your username."), Length(max=40)])
    password = PasswordField("Password", validators=[InputRequired("Enter your password."), Length(max=200)])
    submit = SubmitField("Log in")


def _secret_key(instance: Path) -> str:
    file = instance / "secret_key"
    if not file.exists():
        instance.mkdir(parents=True, exist_ok=True)
        file.write_text(secrets.token_hex(32))
    return file.read_text().strip()


def create_app(config: dict[str, Any] | None = None, *, instance_path: str | None = None) -> Flask:
    """The demo portal. ``instance_path`` holds its SQLite file, secret key and built handbook.

    Settings, each over the one before: the demo's defaults; ``config.py`` in the instance folder, if there
    is one; environment variables named ``FLASK_`` + the key (``FLASK_HOME_VISITS_SMTP_HOST=mail.school.example``,
    values read as JSON where they parse: ``FLASK_HOME_VISITS_SMTP_PORT=587``); then ``config``.
    """
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    app.config.update(
        HOME_VISITS_BASE_TEMPLATE="portal_base.html",
        DEMO_BUILD_HANDBOOK=True,
        DEMO_SEED=True,
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env()
    app.config.update(config or {})
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(Path(app.instance_path))

    users = demo_users()
    login = LoginManager(app)
    login.login_view = "login"
    login.user_loader(users.get)
    home_visits.init_app(app, users=users.values)

    @app.route("/")
    @login_required
    def index() -> str:
        return render_template("index.html")

    @app.route("/login", methods=["GET", "POST"], endpoint="login")
    def login_page() -> Any:
        form = LoginForm()
        if form.validate_on_submit():
            user = users.get(form.username.data or "")
            if user and user.check_password(form.password.data or ""):
                login_user(user)
                target = request.args.get("next", "")
                return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("index"))
            form.password.errors.append("That username and password do not match.")
        return render_template("login.html", form=form), 200 if request.method == "GET" else 422

    @app.post("/logout")
    def logout() -> Any:
        logout_user()
        return redirect(url_for("login"))

    @app.route("/handbook/", defaults={"path": ""})
    @app.route("/handbook/<path:path>")
    def handbook(path: str) -> Any:
        """Old links: the plugin serves the handbook under its own prefix."""
        return redirect(url_for("home_visits.handbook", path=path), 301)

    @app.context_processor
    def portal() -> dict[str, Any]:
        return {"current_user": current_user}

    if app.config["DEMO_BUILD_HANDBOOK"]:
        ensure_handbook(site_dir(app.config["HOME_VISITS_HANDBOOK_DIR"], app.instance_path),
                        policy=app.config["HOME_VISITS_POLICY"])
    if app.config["DEMO_SEED"]:
        seed_demo_visits(app, users)
    return app
