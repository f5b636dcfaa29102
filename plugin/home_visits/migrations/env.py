"""Alembic environment for the plugin's tables; the engine comes from ``home_visits.db``."""

from alembic import context
from sqlalchemy import Connection

from home_visits.db import VERSION_TABLE
from home_visits.models import Base, UTCDateTime

engine = context.config.attributes["engine"]


def render_item(kind: str, obj: object, _context: object) -> str | bool:
    """Write the plugin's UTC column type as a plain DateTime, so migrations never import models."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        render_item=render_item,
        render_as_batch=connection.dialect.name == "sqlite",
        include_name=lambda name, kind, _parent: kind != "table" or name.startswith("home_visits_"),
    )
    with context.begin_transaction():
        context.run_migrations()


if engine.dialect.name == "sqlite":
    # A batch migration rebuilds a table (copy, drop, rename). With foreign keys enforced, dropping a table
    # that other rows refer to fails, so they are off while migrating (SQLite ignores the PRAGMA inside a
    # transaction, hence before it), every reference is checked before committing, and they are back on
    # before the connection returns to the pool.
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
        try:
            with connection.begin():
                run_migrations(connection)
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"the migration left rows referring to missing rows: {broken[:5]}")
        finally:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
else:
    with engine.begin() as connection:
        run_migrations(connection)
