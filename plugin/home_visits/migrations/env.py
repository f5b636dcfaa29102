"""Alembic environment for the plugin's tables; the engine comes from ``home_visits.db``."""

from alembic import context

from home_visits.db import VERSION_TABLE
from home_visits.models import Base

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
        include_name=lambda name, kind, _parent: kind != "table" or name.startswith("home_visits_"),
    )
    with context.begin_transaction():
        context.run_migrations()
