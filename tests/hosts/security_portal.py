"""A staff portal on Flask-Security-Too, as its quick start builds one: Flask-SQLAlchemy, User and Role
models from the ``fsqla_v3`` mixins, its own login, logout and change-password pages. ``get_id()`` is
``fs_uniquifier``, which Flask-Security replaces on every password change; the plugin must not care."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_security import Security, SQLAlchemyUserDatastore, hash_password
from flask_security.models import fsqla_v3 as fsqla
from flask_sqlalchemy import SQLAlchemy

from home_visits import HomeVisits

db = SQLAlchemy()
fsqla.FsModels.set_db_info(db)


class Role(db.Model, fsqla.FsRoleMixin):  # type: ignore[name-defined,misc]
    pass


class User(db.Model, fsqla.FsUserMixin):  # type: ignore[name-defined,misc]
    name = db.Column(db.String(100))
    phone = db.Column(db.String(40))


#: Who works here: (email, name, phone, roles). ``governor`` is a role the portal has and the plugin does not.
PEOPLE = [
    ("sam@school.example", "Sam Patel", "07700 900001", ["staff"]),
    ("jo@school.example", "Jo Jones", "07700 900002", ["staff"]),
    ("alex@school.example", "Alex Morgan", "07700 900004", ["staff", "approver"]),
    ("office@school.example", "School Office", "01632 960000", ["office"]),
    ("governor@school.example", "A Governor", "", ["governor"]),
]
PASSWORD = "correct horse battery staple"

#: A trust's portal (``tests/trust.py``'s schools): roles named per school in the portal's own role table.
TRUST_PEOPLE = [
    ("ned@north.example", "Ned North", "07700 900102", ["north:staff"]),
    ("nina@north.example", "Nina North", "07700 900101", ["north:staff"]),
    ("noor@north.example", "Noor North", "07700 900103", ["north:approver"]),
    ("office@north.example", "North Office", "01632 960101", ["north:office"]),
    ("sol@south.example", "Sol South", "07700 900201", ["south:staff"]),
    ("sid@south.example", "Sid South", "07700 900202", ["south:staff"]),
    ("sky@south.example", "Sky South", "07700 900203", ["south:approver"]),
    ("office@south.example", "South Office", "01632 960201", ["south:office"]),
    ("tom@trust.example", "Tom Trust", "07700 900302", ["trust:approver", "trust:office", "trust:dsl"]),
]


def create_app(config: dict[str, Any] | None = None, *, instance_path: str | None = None,
               people: list[tuple[str, str, str, list[str]]] = PEOPLE) -> Flask:
    app = Flask(__name__, instance_path=instance_path)
    app.config.update(
        SECRET_KEY="a test secret",
        SECURITY_PASSWORD_SALT="a test salt",
        SECURITY_CHANGEABLE=True,
        SECURITY_SEND_PASSWORD_CHANGE_EMAIL=False,
        SQLALCHEMY_DATABASE_URI="sqlite://",
    )
    app.config.update(config or {})
    db.init_app(app)
    app.security = Security(app, SQLAlchemyUserDatastore(db, User, Role))

    # recipe: Flask-Security-Too
    app.config["HOME_VISITS_BASE_TEMPLATE"] = "layout.html"  # your base template: blocks title and content
    home_visits = HomeVisits()
    home_visits.init_app(app, users=lambda: db.session.scalars(db.select(User)).all())
    # end of recipe

    with app.app_context():
        db.create_all()
        store = app.security.datastore
        for email, name, phone, roles in people:
            if store.find_user(email=email) is None:
                for role in roles:
                    store.find_or_create_role(role)
                store.create_user(email=email, name=name, phone=phone, roles=roles, password=hash_password(PASSWORD))
        db.session.commit()
    return app
