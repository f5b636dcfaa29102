"""The plugin's own database: engine, sessions, migrations, and the one place a unit of work commits.

Services add and change rows and never commit; the view or the command that started the work wraps it in
:func:`unit_of_work`, which commits when the block ends and rolls back when it raises.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import DateTime, Engine, TypeDecorator, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from . import files

MIGRATIONS = Path(__file__).with_name("migrations")
#: The plugin keeps its own Alembic version table, so it never collides with the host's.
VERSION_TABLE = "home_visits_alembic_version"


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; the plugin stores aware UTC times only")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def make_engine(uri: str) -> Engine:
    """An engine for ``uri``; SQLite gets WAL and a busy timeout so writers wait, not fail."""
    if uri.startswith("sqlite"):
        engine = create_engine(uri, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(uri, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def sqlite_default(instance_path: str, *, file_mode: int = files.FILE_MODE,
                   directory_mode: int = files.DIRECTORY_MODE) -> str:
    """The SQLite file in the instance folder, created (with the folder, if need be) owner-only by
    default before SQLite opens it; SQLite gives its journal files the database file's permissions."""
    folder = files.make_folder(Path(instance_path), mode=directory_mode)
    database = files.touch(folder / "home_visits.sqlite", mode=file_mode)
    return f"sqlite:///{database}"


def alembic_config(engine: Engine, *, first_school: str = "school") -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    config.attributes["first_school"] = first_school
    return config


def upgrade(engine: Engine, revision: str = "head", *, first_school: str = "school") -> None:
    """Bring the plugin's tables to ``revision`` (Alembic ``upgrade``); visits stored before schools
    existed move to ``first_school`` (the first of ``HOME_VISITS_SCHOOLS``)."""
    command.upgrade(alembic_config(engine, first_school=first_school), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def unit_of_work(session: Session) -> Iterator[Session]:
    """Commit what the block did to ``session``; roll it all back if the block raises (and re-raise)."""
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    session.commit()
