"""A bad ``HOME_VISITS_SCHOOLS`` stops the portal at start-up with one line naming the setting (or the
policy file), the key and the problem, as a bad policy file does; and how the default directory reads a
host's role names (``north:approver``, ``trust:office``, plain names) into roles per school."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from home_visits import HomeVisits
from home_visits.people import split_roles
from home_visits.policy import PolicyError
from home_visits.schools import SchoolsError, load_schools

ROOT = Path(__file__).resolve().parents[1]

NORTH = {"id": "north", "name": "North Primary"}
SOUTH = {"id": "south", "name": "South Academy"}


def start(tmp_path: Path, schools: Any, **config: Any) -> Flask:
    app = Flask("host", instance_path=str(tmp_path / "instance"))
    app.config.update(SECRET_KEY="test", TESTING=True, HOME_VISITS_DATABASE_URI="sqlite://",
                      HOME_VISITS_SCHOOLS=schools, **config)
    HomeVisits(app)
    return app


# --------------------------------------------------------------------------- the setting itself

BAD_SETTINGS: dict[str, tuple[Any, str]] = {
    "a string": ("north", "HOME_VISITS_SCHOOLS must be a list of schools"),
    "a mapping": (NORTH, "HOME_VISITS_SCHOOLS must be a list of schools"),
    "an empty list": ([], "HOME_VISITS_SCHOOLS: name at least one school"),
    "an entry that is no mapping": ([NORTH, "south"], "HOME_VISITS_SCHOOLS[1]: each school is a mapping"),
    "no id": ([{"name": "North Primary"}], "HOME_VISITS_SCHOOLS[0].id: "),
    "no name": ([{"id": "north"}], "HOME_VISITS_SCHOOLS[0].name: "),
    "an empty name": ([{"id": "north", "name": "  "}], "HOME_VISITS_SCHOOLS[0].name: "),
    "capitals in the id": ([{"id": "North", "name": "North Primary"}],
                           "HOME_VISITS_SCHOOLS[0].id: use up to 32 lower-case letters, digits and hyphens"),
    "a space in the id": ([NORTH, {"id": "south academy", "name": "South"}],
                          "HOME_VISITS_SCHOOLS[1].id: use up to 32 lower-case letters, digits and hyphens"),
    "a colon in the id": ([{"id": "north:1", "name": "North"}], "HOME_VISITS_SCHOOLS[0].id: use up to 32"),
    "an id too long": ([{"id": "n" * 33, "name": "North"}], "HOME_VISITS_SCHOOLS[0].id: use up to 32"),
    "an id twice": ([NORTH, SOUTH, {"id": "north", "name": "North Juniors"}],
                    "HOME_VISITS_SCHOOLS[2].id: 'north' is listed twice"),
    "the id trust": ([NORTH, {"id": "trust", "name": "The trust"}],
                     "HOME_VISITS_SCHOOLS[1].id: 'trust' names trust-wide roles"),
    "an unknown key": ([{**NORTH, "polcy": "north.yaml"}], "HOME_VISITS_SCHOOLS[0].polcy: unknown key"),
    "a bad office email": ([{**NORTH, "office_email": "the office"}],
                           "HOME_VISITS_SCHOOLS[0].office_email: not an email address"),
    "a bad out-of-hours email": ([NORTH, {**SOUTH, "out_of_hours_email": "on call@south"}],
                                 "HOME_VISITS_SCHOOLS[1].out_of_hours_email: not an email address"),
}


@pytest.mark.parametrize("case", BAD_SETTINGS, ids=list(BAD_SETTINGS))
def test_a_bad_schools_setting_stops_the_portal_naming_the_key_and_the_problem(tmp_path: Path, case: str) -> None:
    setting, expected = BAD_SETTINGS[case]
    with pytest.raises(SchoolsError) as raised:
        start(tmp_path, setting)
    message = str(raised.value)
    assert message.startswith(expected), message
    assert "\n" not in message and len(message) < 240


def test_a_good_setting_with_every_key(tmp_path: Path) -> None:
    (tmp_path / "south.yaml").write_text("extends: trust\nrules:\n  grace_minutes: 30\n")
    schools = load_schools([{**NORTH, "short": "North", "office_email": "office@north.example",
                             "out_of_hours_email": "on-call@north.example"},
                            {**SOUTH, "policy": str(tmp_path / "south.yaml")}], policy=None)
    assert schools.ids == ("north", "south") and schools.trust
    assert schools.of("north").office_email == "office@north.example"
    assert schools.of("south").short == "South Academy" and schools.policy("south").rules.grace_minutes == 30
    assert schools.policy("south").school.name == "South Academy"


def test_a_school_may_extend_the_trust_when_the_trust_keeps_the_shipped_policy(tmp_path: Path) -> None:
    """With no ``HOME_VISITS_POLICY`` the trust's policy is the shipped one, and ``extends: trust`` extends it."""
    (tmp_path / "north.yaml").write_text('extends: trust\nescalation:\n  office_closes: "16:00"\n')
    schools = load_schools([{**NORTH, "policy": str(tmp_path / "north.yaml")}], policy=None)
    assert str(schools.policy("north").escalation.office_closes) == "16:00:00"
    assert schools.policy("north").rules.grace_minutes == schools.trust_policy.rules.grace_minutes


# --------------------------------------------------------------------------- the policy files it names


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_schools_policy_file_that_is_missing_is_named(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as raised:
        start(tmp_path, [NORTH, {**SOUTH, "policy": str(tmp_path / "sotuh.yaml")}])
    assert str(raised.value) == f"{tmp_path / 'sotuh.yaml'}: (top level): the file does not exist"


def test_a_schools_policy_file_that_is_invalid_is_named_with_its_line(tmp_path: Path) -> None:
    south = write(tmp_path, "south.yaml", "extends: trust\nrules:\n  grace_minutes: soon\n")
    trust = write(tmp_path, "trust.yaml", "extends: default\n")
    with pytest.raises(PolicyError) as raised:
        start(tmp_path, [NORTH, {**SOUTH, "policy": south}], HOME_VISITS_POLICY=trust)
    assert str(raised.value).startswith(f"{south}, line 3: rules.grace_minutes: ")


def test_the_trusts_own_policy_cannot_extend_the_trust(tmp_path: Path) -> None:
    trust = write(tmp_path, "trust.yaml", "extends: trust\n")
    with pytest.raises(PolicyError) as raised:
        start(tmp_path, [NORTH], HOME_VISITS_POLICY=trust)
    assert str(raised.value) == f"{trust}: extends: the trust's own policy cannot extend 'trust'"


def test_a_school_cannot_name_the_trusts_file_as_its_own_and_extend_it(tmp_path: Path) -> None:
    trust = write(tmp_path, "trust.yaml", "extends: default\n")
    north = write(tmp_path, "north.yaml", "extends: trust\n")
    assert start(tmp_path / "fine", [{**NORTH, "policy": north}], HOME_VISITS_POLICY=trust)
    with pytest.raises(PolicyError) as raised:
        start(tmp_path, [{**NORTH, "policy": north}], HOME_VISITS_POLICY=north)
    assert str(raised.value).startswith(f"{north}: extends: ")


def test_a_one_school_portal_cannot_extend_the_trust(tmp_path: Path) -> None:
    policy = write(tmp_path, "school.yaml", "extends: trust\nrules:\n  grace_minutes: 20\n")
    with pytest.raises(PolicyError) as raised:
        start(tmp_path, None, HOME_VISITS_POLICY=policy)
    message = str(raised.value)
    assert message.startswith(f"{policy}: extends: ") and "HOME_VISITS_SCHOOLS" in message


# --------------------------------------------------------------------------- at start-up: one line

HOST_APP = """
import json, os
from flask import Flask
from home_visits import HomeVisits

def create_app():
    app = Flask(__name__, instance_path=os.path.join(os.path.dirname(__file__), "instance"))
    app.config["HOME_VISITS_SCHOOLS"] = json.loads(os.environ["SCHOOLS"])
    HomeVisits(app)
    return app
"""


def _flask(tmp_path: Path, schools: Any, *args: str) -> subprocess.CompletedProcess[str]:
    import json

    (tmp_path / "host.py").write_text(HOST_APP, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("FLASK_DEBUG", "HOME_VISITS_DEBUG", "FLASK_APP")}
    env |= {"SCHOOLS": json.dumps(schools),
            "PYTHONPATH": os.pathsep.join([str(ROOT / "plugin"), str(tmp_path)])}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "host", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


TWICE = [NORTH, SOUTH, {"id": "north", "name": "North Juniors"}]


@pytest.mark.parametrize("command", [["home-visits", "db", "upgrade"], ["run", "--port", "0", "--no-reload"]])
def test_a_bad_schools_setting_at_start_up_is_one_line(tmp_path: Path, command: list[str]) -> None:
    result = _flask(tmp_path, TWICE, *command)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr and len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: the schools setting cannot be used: "
                               "HOME_VISITS_SCHOOLS[2].id: 'north' is listed twice"), lines[0]
    assert "--debug" in lines[0]


def test_a_bad_schools_policy_file_at_start_up_is_one_line(tmp_path: Path) -> None:
    result = _flask(tmp_path, [{**NORTH, "policy": str(tmp_path / "missing.yaml")}], "home-visits", "db", "upgrade")
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0 and len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: the home-visit policy cannot be used: ")
    assert f"{tmp_path / 'missing.yaml'}: (top level): the file does not exist" in lines[0]


def test_debug_shows_the_traceback_of_a_bad_schools_setting(tmp_path: Path) -> None:
    result = _flask(tmp_path, TWICE, "--debug", "home-visits", "db", "upgrade")
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "SchoolsError" in result.stderr and "listed twice" in result.stderr


# --------------------------------------------------------------------------- a host's role names


def test_in_a_trust_plain_roles_are_the_first_schools_and_trust_roles_everyones() -> None:
    everywhere, per_school = split_roles(
        ["staff", "north:approver", "south:staff", "trust:office", "trust:dsl"], schools=("north", "south"))
    assert everywhere == {"office", "dsl"}
    assert per_school == {"north": {"staff", "approver"}, "south": {"staff"}}


def test_unknown_schools_and_roles_are_left_out() -> None:
    everywhere, per_school = split_roles(
        ["west:approver", "north:admin", "trust:superuser", "admin", "north:", ":staff", "north:office:x", "Staff"],
        schools=("north", "south"))
    assert everywhere == frozenset() and per_school == {}


def test_in_one_school_plain_and_trust_roles_are_the_schools_and_school_prefixed_ones_are_ignored() -> None:
    everywhere, per_school = split_roles(["staff", "trust:approver", "north:office"])
    assert everywhere == {"staff", "approver"} and per_school == {}


def test_nobody_gains_a_role_when_a_portal_becomes_a_trust() -> None:
    """The roles a one-school portal gave land at the first school only."""
    roles = ["staff", "approver", "office", "dsl"]
    one, _ = split_roles(roles)
    everywhere, per_school = split_roles(roles, schools=("oak", "ash", "elm"))
    assert everywhere == frozenset() and per_school == {"oak": set(one)}
