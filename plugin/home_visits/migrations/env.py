"""Alembic environment for the plugin's tables; the engine comes from ``home_visits.db``."""

from alembic import context

from home_visits.db import VERSION_TABLE
from home_visits.models import Base, UTCDateTime

engine = context.config.attributes["engine"]


def render_item(kind: str, obj: object, _context: object) -> str | bool:
    """Write the plugin's UTC column type as a plain DateTime, so migrations never import models."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


with engine.begin() as connection:
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
