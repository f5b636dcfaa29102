"""Upgrades lose nothing, and the models and the migrations describe the same tables.

For every migration in order, a database is created at that revision, every plugin table is filled
with rows (raw SQL through the reflected schema, so the rows fit that revision whatever later code
says), and the database is upgraded one step at a time to head, filling again at each step and
checking after each that every row written so far is still there with every value it had. At head,
the models load every row. On SQLite, and on PostgreSQL when ``HOME_VISITS_TEST_DATABASE_URI`` is set.

Migrations added later are picked up from the versions folder; no test data needs writing for them:
values come from each column's type (with a few known vocabularies, :data:`VOCABULARY`, so states and
statuses look like real ones).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from home_visits import db
from home_visits.models import Base
from home_visits.plans import workflow

from .conftest import TEST_DATABASE_URI

DATABASES = ["sqlite", *(["postgresql"] if TEST_DATABASE_URI else [])]
#: Rows written into every table at every revision.
ROWS = 3


def revisions() -> list[str]:
    """Every revision, oldest first (one line of history: a branch fails here)."""
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    assert len(script.get_heads()) == 1, f"the migrations have {len(script.get_heads())} heads: merge them"
    return [revision.revision for revision in reversed(list(script.walk_revisions("base", "heads")))]


REVISIONS = revisions()


def fresh_engine(database: str, tmp_path: Path) -> Engine:
    """An empty database: a new SQLite file, or the test PostgreSQL database without any plugin table."""
    if database == "sqlite":
        return db.make_engine(f"sqlite:///{tmp_path / 'upgrade.sqlite'}")
    assert TEST_DATABASE_URI
    engine = db.make_engine(TEST_DATABASE_URI)
    with engine.begin() as connection:
        for name in sa.inspect(connection).get_table_names():
            if name.startswith("home_visits_"):
                connection.execute(sa.text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
    return engine


@pytest.fixture(params=DATABASES)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    engine = fresh_engine(request.param, tmp_path)
    yield engine
    engine.dispose()


# --------------------------------------------------------------------------- filling a database at any revision

#: Columns whose values come from a fixed set, so the rows look like the plugin's own.
VOCABULARY: dict[tuple[str, str], list[Any]] = {
    ("home_visits_visit", "state"): list(workflow.STATES),
    ("home_visits_audit", "from_state"): list(workflow.STATES),
    ("home_visits_audit", "to_state"): list(workflow.STATES),
    ("home_visits_audit", "action"): ["created", "submitted", "authorised", "edited"],
    ("home_visits_feed_token", "scope"): ["all", "own"],
    ("home_visits_alert", "status"): ["pending", "sending", "sent", "failed", "stopped"],
    ("home_visits_alert", "notify"): [["responsible_contact", "office"], ["approvers"]],
    ("home_visits_notice", "status"): ["pending", "sent", "failed"],
    ("home_visits_record", "outcome"): ["took_place", "doorstep_only", "no_answer", "family_declined"],
}
_COUNTER = itertools.count(1000)


@dataclass
class Written:
    """Rows written so far: table -> primary key -> {column: value as written}."""

    rows: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = field(default_factory=dict)

    def count(self) -> int:
        return sum(len(rows) for rows in self.rows.values())


def plugin_tables(connection: sa.Connection) -> sa.MetaData:
    """The plugin's tables as they are in the database now (reflected, not from the models)."""
    names = [name for name in sa.inspect(connection).get_table_names()
             if name.startswith("home_visits_") and name != db.VERSION_TABLE]
    metadata = sa.MetaData()
    metadata.reflect(connection, only=names)
    return metadata


def value_for(table: sa.Table, column: sa.Column[Any], n: int, k: int, parents: dict[str, list[Any]],
              dialect: str) -> Any:
    """A value that fits the column's type, unique per row (``n``), in the table's own vocabulary."""
    foreign = next(iter(column.foreign_keys), None)
    if foreign is not None:
        choices = parents.get(foreign.column.table.name)
        assert choices, f"{table.name}.{column.name} refers to {foreign.column.table.name}, which has no rows"
        return choices[k % len(choices)]
    if (table.name, column.name) in VOCABULARY:
        words = VOCABULARY[(table.name, column.name)]
        return words[k % len(words)]
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return k % 2 == 0
    if isinstance(kind, sa.Integer):
        return n if column.primary_key else k + 1
    if isinstance(kind, (sa.Float, sa.Numeric)):
        return 1.5 + k
    if isinstance(kind, sa.DateTime):
        moment = datetime(2026, 3, 4, 10, tzinfo=timezone.utc) + timedelta(minutes=n)
        return moment.replace(tzinfo=None) if dialect == "sqlite" else moment
    if isinstance(kind, sa.Date):
        return date(2026, 3, 4) + timedelta(days=k)
    if isinstance(kind, sa.JSON):
        return ["first", "Zoë ✓", n]
    if isinstance(kind, sa.Text):
        return f"{n}: a longer text\nover two lines, with Zoë's ✓ and <b>markup</b>"
    if isinstance(kind, sa.String):
        text = f"{n}-{column.name}-Zoë ✓"
        return text[: kind.length] if kind.length else text
    raise AssertionError(f"teach value_for() in tests/test_migrations.py about {table.name}.{column.name}: {kind!r}")


def fill(engine: Engine, written: Written) -> None:
    """Write :data:`ROWS` rows into every plugin table there is now (parents before children)."""
    with engine.begin() as connection:
        metadata = plugin_tables(connection)
        parents: dict[str, list[Any]] = {}
        for table in metadata.sorted_tables:
            keys = [column.name for column in table.primary_key.columns]
            for k in range(ROWS):
                n = next(_COUNTER)
                row = {column.name: value_for(table, column, n, k, parents, engine.dialect.name)
                       for column in table.columns}
                connection.execute(table.insert().values(**row))
                written.rows.setdefault(table.name, {})[tuple(row[key] for key in keys)] = row
                if len(keys) == 1:
                    parents.setdefault(table.name, []).append(row[keys[0]])


def _same(value: Any) -> Any:
    """Values as comparable across a round trip (time zones, JSON text, booleans as integers)."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    if isinstance(value, bool):
        return int(value)
    return value


def check_nothing_lost(engine: Engine, written: Written, revision: str) -> None:
    lost: list[str] = []
    with engine.connect() as connection:
        metadata = plugin_tables(connection)
        for name, rows in written.rows.items():
            if name not in metadata.tables:
                lost.append(f"table {name} ({len(rows)} rows) is gone")
                continue
            table = metadata.tables[name]
            keys = [column.name for column in table.primary_key.columns]
            for key, row in rows.items():
                found = connection.execute(
                    sa.select(table).where(*(table.c[column] == value for column, value in zip(keys, key, strict=True)))
                ).mappings().first()
                if found is None:
                    lost.append(f"{name} {key}: the row is gone")
                    continue
                for column, value in row.items():
                    if column not in found:
                        lost.append(f"{name}.{column}: the column is gone")
                    elif _same(found[column]) != _same(value):
                        lost.append(f"{name} {key}.{column}: {value!r} became {found[column]!r}")
    assert not lost, f"upgrading to {revision} lost data:\n" + "\n".join(sorted(set(lost))[:40])


# --------------------------------------------------------------------------- the tests


def test_the_migrations_are_one_line_from_0001() -> None:
    assert REVISIONS[0] == "0001" and len(REVISIONS) == len(set(REVISIONS)) >= 3


@pytest.mark.parametrize("start", REVISIONS)
def test_upgrading_from_each_revision_to_head_loses_nothing(engine: Engine, start: str) -> None:
    db.upgrade(engine, start)
    written = Written()
    fill(engine, written)
    for revision in REVISIONS[REVISIONS.index(start) + 1:]:
        db.upgrade(engine, revision)
        check_nothing_lost(engine, written, revision)
        fill(engine, written)  # and rows that fit this revision, for the next step
    check_nothing_lost(engine, written, "head")
    with engine.connect() as connection:
        assert connection.scalar(sa.text(f"SELECT version_num FROM {db.VERSION_TABLE}")) == REVISIONS[-1]
    # The models read every row the upgrades carried (types, JSON and times all load).
    with Session(engine) as session:
        for mapper in Base.registry.mappers:
            loaded = session.scalars(sa.select(mapper.class_)).all()
            table = mapper.local_table.name
            if table in written.rows:
                assert len(loaded) >= len(written.rows[table]), f"{table}: the models see fewer rows than written"


def test_upgrading_twice_changes_nothing(engine: Engine) -> None:
    db.upgrade(engine)
    written = Written()
    fill(engine, written)
    db.upgrade(engine)
    check_nothing_lost(engine, written, "head, again")
    if engine.dialect.name == "sqlite":  # migrating turned foreign keys off for a while: they are back on
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def _plugin_names(name: str | None, kind: str, _parent: Any) -> bool:
    return kind != "table" or bool(name and name.startswith("home_visits_") and name != db.VERSION_TABLE)


def test_the_models_and_the_migrations_agree(engine: Engine) -> None:
    """What ``alembic check`` does: autogenerate against a database at head finds nothing to do."""
    db.upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True,
            "include_name": _plugin_names,
            "version_table": db.VERSION_TABLE,
        })
        differences = compare_metadata(context, Base.metadata)
    assert not differences, "the models and the migrations differ; write a migration:\n" + "\n".join(
        map(repr, differences)
    )


# --------------------------------------------------------------------------- schools (0009): nothing lost, one school

SCHOOLS_REVISION = "0009"
BEFORE_SCHOOLS = REVISIONS[REVISIONS.index(SCHOOLS_REVISION) - 1]


def everything(engine: Engine) -> dict[str, dict[tuple[Any, ...], dict[str, Any]]]:
    """Every row of every plugin table, by table and primary key, each value as comparable."""
    rows: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
    with engine.connect() as connection:
        for table in plugin_tables(connection).sorted_tables:
            keys = [column.name for column in table.primary_key.columns]
            rows[table.name] = {
                tuple(_same(row[key]) for key in keys): {column: _same(value) for column, value in row.items()}
                for row in connection.execute(sa.select(table)).mappings()
            }
    return rows


def _schools_app(engine: Engine, tmp_path: Path, schools: list[dict[str, str]] | None) -> None:
    """A host starting on ``engine`` (migrating it, as a portal does by default) with ``schools``."""
    from flask import Flask

    from home_visits import HomeVisits

    app = Flask("upgraded_host", instance_path=str(tmp_path / "instance"))
    app.config.update(SECRET_KEY="test", TESTING=True, HOME_VISITS_SCHOOLS=schools)
    HomeVisits(app, engine=engine)


@pytest.mark.parametrize(("schools", "first"), [
    (None, "school"),
    ([{"id": "north", "name": "North Primary"}, {"id": "south", "name": "South Academy"}], "north"),
], ids=["one-school", "trust"])
def test_a_database_from_before_schools_moves_whole_into_the_first_school(
        engine: Engine, tmp_path: Path, schools: list[dict[str, str]] | None, first: str) -> None:
    """Visits, audit lines, records, alerts, notices, feed tokens... at 0008 are all there at head with every
    value they had; the new column puts every visit in the portal's first school (``school`` with no
    ``HOME_VISITS_SCHOOLS``), each alert was pressed once; going back down to 0008 gives the same database as before."""
    db.upgrade(engine, BEFORE_SCHOOLS)
    fill(engine, Written())
    before = everything(engine)
    assert all(before[name] for name in before), f"a table was left empty: {[n for n in before if not before[n]]}"
    assert {"home_visits_visit", "home_visits_audit", "home_visits_record", "home_visits_alert",
            "home_visits_feed_token"} <= set(before)

    _schools_app(engine, tmp_path, schools)  # start-up migrates, as HOME_VISITS_AUTO_MIGRATE does by default

    with engine.connect() as connection:
        assert connection.scalar(sa.text(f"SELECT version_num FROM {db.VERSION_TABLE}")) == REVISIONS[-1]
    after = everything(engine)
    assert set(after) == set(before), "tables came or went"
    visits = after["home_visits_visit"]
    assert {row.pop("school_id") for row in visits.values()} == {first}
    alarms = after["home_visits_alert"]  # 0015: every alert stored before was pressed once
    assert {(row.pop("taps"), row.pop("tapped_at")) for row in alarms.values()} == {(1, None)}
    records = after["home_visits_record"]  # 0016: no record stored before says why it is no safeguarding matter
    assert {row.pop("safeguarding_why") for row in records.values()} == {""}
    assert after == before, "upgrading changed a row"
    with Session(engine) as session:
        from home_visits.models import Visit

        assert {visit.school_id for visit in session.scalars(sa.select(Visit))} == {first}

    db.downgrade(engine, BEFORE_SCHOOLS)
    assert everything(engine) == before, "downgrading changed a row"
    with engine.connect() as connection:
        assert "school_id" not in {column["name"] for column in sa.inspect(connection).get_columns("home_visits_visit")}


def test_the_upgrade_command_moves_old_visits_to_the_first_configured_school(engine: Engine, tmp_path: Path) -> None:
    """``flask home-visits db upgrade`` (a deploy with ``HOME_VISITS_AUTO_MIGRATE = False``) does the same."""
    from flask import Flask

    from home_visits import HomeVisits

    db.upgrade(engine, BEFORE_SCHOOLS)
    fill(engine, Written())
    app = Flask("deployed_host", instance_path=str(tmp_path / "instance"))
    app.config.update(SECRET_KEY="test", HOME_VISITS_AUTO_MIGRATE=False,
                      HOME_VISITS_SCHOOLS=[{"id": "ash", "name": "Ash Hill"}, {"id": "oak", "name": "Oak Lane"}])
    HomeVisits(app, engine=engine)
    result = app.test_cli_runner().invoke(args=["home-visits", "db", "upgrade"])
    assert result.exit_code == 0, result.output
    with engine.connect() as connection:
        assert set(connection.scalars(sa.text("SELECT school_id FROM home_visits_visit"))) == {"ash"}
