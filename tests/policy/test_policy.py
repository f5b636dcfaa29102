"""The shipped policy and the loader's messages for broken school files."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from home_visits.policy import DEFAULT_POLICY, PolicyError, load_policy

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT.parent / "shared" / "seeds"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the shipped default ------------------------------------------------------------------------


def test_default_policy_loads_with_the_agreed_rules() -> None:
    policy = load_policy()
    rules = policy.rules
    assert rules.authorisers == ["approver"]
    assert rules.two_staff == ["first_visit", "when_risk_identified", "whenever_possible"]
    assert f"{rules.evening.after:%H:%M}" == "17:00" and rules.evening.needs_two_staff
    assert (rules.longest_visit_minutes, rules.grace_minutes) == (120, 15)
    assert not rules.public_transport_allowed
    assert (rules.reminder_window_days, rules.retention_years) == (2, 7)
    assert f"{policy.escalation.office_closes:%H:%M}" == "17:30"
    assert [t.after_minutes for t in policy.escalation.tiers] == [0, 30]
    assert policy.escalation.tiers[0].notify == ["responsible_contact", "office"]
    assert policy.school.timezone == "Europe/London"


def test_default_items_are_well_formed() -> None:
    items = load_policy().all_items()
    assert 100 <= len(items) <= 180  # a full policy, yet one a school can still read through
    ids = [item.id for item in items]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", i) for i in ids)
    for item in items:
        sentences = re.findall(r"[.?!](?:\s|$)", item.text)
        assert 1 <= max(len(sentences), 1) <= 3, item.id


def test_default_required_checklist_and_attendance_reasons() -> None:
    policy = load_policy()
    required = [item.id for item in policy.guidance.before.items if item.required]
    assert 5 <= len(required) <= 7
    assert {"before-responsible-contact", "before-if-not-back", "before-risk-assessment"} <= set(required)
    attendance = {reason.id for reason in policy.reasons if reason.attendance}
    assert attendance == {"first-day-absence", "extended-absence", "persistent-lateness", "cme-enquiries"}
    assert [item.id for item in policy.escalation.procedure][-1] == "esc-call-police"


def test_default_times_are_quoted() -> None:
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    for match in re.finditer(r"^[ \t]*(after|office_closes):[ \t]*(\S+)", text, re.MULTILINE):
        assert re.fullmatch(r'"\d\d:\d\d"', match[2]), match[0]


def _ngrams(text: str, n: int = 10) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower().replace("\u2019", "'"))
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed documents are not beside the repository")
def test_no_ten_word_run_copied_from_the_seed_documents() -> None:
    seeds: set[tuple[str, ...]] = set()
    for seed in SEEDS.iterdir():
        seeds |= _ngrams(seed.read_text(encoding="utf-8", errors="replace"))
    ours = [DEFAULT_POLICY, *sorted((ROOT / "plugin" / "home_visits" / "handbook").glob("*.py")),
            *sorted((ROOT / "handbook").glob("*.md"))]
    copied = {path.name: _ngrams(path.read_text(encoding="utf-8")) & seeds for path in ours}
    assert not {name: runs for name, runs in copied.items() if runs}


# --- broken files: each message names the file, the key path and the problem ----------------------

BAD_FILES: dict[str, tuple[str, list[str]]] = {
    "unknown_key": (
        "extends: default\nrules:\n  grace_minute: 5\n",
        ["line 3", "rules.grace_minute", "unknown key"],
    ),
    "missing_field": (
        "extends: default\nreasons:\n  - id: new-reason\n    title: A reason without text\n",
        ["line 3", "reasons[0].text", "required key is missing"],
    ),
    "duplicate_ids": (
        "extends: default\nalternatives:\n  - id: before-purpose\n    title: Twice\n    text: Clashes.\n",
        ["'before-purpose' is used more than once", "alternatives[0]", "guidance.before.items[0]"],
    ),
    "bad_time": (
        'extends: default\nrules:\n  evening:\n    after: "25:00"\n',
        ["line 4", "rules.evening.after", "'25:00' is not a time of day", "HH:MM"],
    ),
    "unquoted_time": (
        "extends: default\nescalation:\n  office_closes: 17:30\n",
        ["line 3", "escalation.office_closes", "write times in quotes"],
    ),
    "unknown_timezone": (
        "extends: default\nschool:\n  timezone: Europe/Londn\n",
        ["line 3", "school.timezone", "'Europe/Londn' is not a known time zone"],
    ),
    "yaml_syntax": (
        "extends: default\nrules:\n  grace_minutes: 10\n  evening: {after: \"18:00\"\n  retention_years: 7\n",
        ["line 5", "not valid YAML"],
    ),
    "key_twice": (
        "extends: default\nrules:\n  grace_minutes: 10\n  longest_visit_minutes: 60\n  grace_minutes: 20\n",
        ["line 5", "'grace_minutes' appears twice"],
    ),
    "wrong_type": (
        "extends: default\nrules:\n  grace_minutes: soon\n",
        ["line 3", "rules.grace_minutes", "valid integer"],
    ),
    "out_of_range": (
        "extends: default\nrules:\n  grace_minutes: 500\n",
        ["rules.grace_minutes", "less than or equal to 240"],
    ),
    "tiers_out_of_order": (
        "extends: default\nescalation:\n  tiers:\n    - {after_minutes: 30, notify: [office]}\n"
        "    - {after_minutes: 0, notify: [approvers]}\n",
        ["escalation", "strictly increasing after_minutes"],
    ),
    "unknown_recipient": (
        "extends: default\nescalation:\n  tiers:\n    - {after_minutes: 0, notify: [caretaker]}\n",
        ["line 4", "escalation.tiers[0].notify[0]", "'responsible_contact'"],
    ),
    "bad_item_id": (
        "extends: default\nrisk_factors:\n  - id: Big Dog\n    title: Dog\n    text: A dog.\n",
        ["line 3", "risk_factors[0].id", "pattern"],
    ),
    "route_unknown_reason": (
        "extends: default\nrules:\n  routes:\n    - who: the safeguarding lead\n      approvers: [dsl]\n"
        "      risk_factors: [any]\n      reasons: [signs-of-distress, sign-of-distres]\n",
        ["line 7", "rules.routes[0].reasons", "'sign-of-distres' is not one of the policy's reasons"],
    ),
    "route_for_no_plans": (
        "extends: default\nrules:\n  routes:\n    - who: the safeguarding lead\n      approvers: [dsl]\n",
        ["line 4", "rules.routes[0]", "needs reasons, risk_factors or both"],
    ),
    "route_nobody": (
        "extends: default\nrules:\n  routes:\n    - {who: nobody, approvers: [], reasons: [signs-of-distress]}\n",
        ["rules.routes[0]", "needs approvers (ids from the staff list) or a role"],
    ),
    "extends_other": (
        "extends: strict\nrules:\n  grace_minutes: 5\n",
        ["extends", "only 'default' can be extended, not 'strict'"],
    ),
    "review_before_reviewed": (
        "extends: default\nreviewed: 2026-09-01\nreview_by: 2026-03-01\n",
        ["line 3", "review_by", "must be later than reviewed"],
    ),
    "office_phone_not_a_number": (
        "extends: default\nschool:\n  office_phone: ring the office\n",
        ["line 3", "school.office_phone", "pattern"],
    ),
    "when_empty": (
        "extends: default\nalternatives:\n  - {id: a-call, title: Call, text: Ring them., when: ''}\n",
        ["line 3", "alternatives[0].when"],
    ),
    "closure_no_such_day": (
        "extends: default\nescalation:\n  office:\n    closed:\n      - 2026-10-23\n      - 2026-02-30\n",
        ["line 6", "escalation.office.closed[1]", "'2026-02-30' is not a date; write it as YYYY-MM-DD"],
    ),
    "closure_not_a_date": (
        "extends: default\nescalation:\n  office:\n    closed:\n      - {from: 23 Oct, to: 2026-10-30}\n",
        ["line 5", "escalation.office.closed[0].from", "'23 Oct' is not a date"],
    ),
    "closure_backwards": (
        "extends: default\nescalation:\n  office:\n    closed:\n      - {from: 2026-10-30, to: 2026-10-26}\n",
        ["line 5", "escalation.office.closed[0]", "'to' must be the same day as 'from' or later"],
    ),
    "office_unknown_nation": (
        "extends: default\nescalation:\n  office:\n    nation: wales\n",
        ["line 4", "escalation.office.nation", "'england-and-wales', 'scotland' or 'northern-ireland'"],
    ),
    "office_unknown_day": (
        "extends: default\nescalation:\n  office:\n    days: [mon, tues]\n",
        ["line 4", "escalation.office.days[1]"],
    ),
    "empty": ("", ["the file must be a mapping"]),
    "a_list": ("- rules\n- reasons\n", ["the file must be a mapping"]),
    "no_extends_incomplete": (
        'version: "1"\nreasons:\n  - {id: only-one, title: One, text: Just one.}\n',
        ["alternatives", "required key is missing"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_gives_a_clear_message(tmp_path: Path, case: str) -> None:
    text, fragments = BAD_FILES[case]
    path = write(tmp_path, f"{case}.yaml", text)
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    message = str(caught.value)
    assert message.startswith(str(path)), message
    for fragment in fragments:
        assert fragment in message, message


def test_error_carries_key_and_line_separately(tmp_path: Path) -> None:
    path = write(tmp_path, "school.yaml", BAD_FILES["unknown_key"][0])
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert (caught.value.path, caught.value.key, caught.value.line) == (str(path), "rules.grace_minute", 3)


def test_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "policy.yaml"
    with pytest.raises(PolicyError, match="does not exist") as caught:
        load_policy(path)
    assert str(path) in str(caught.value)


# --- overriding the default ---------------------------------------------------------------------


def test_extends_default_merges_mappings_and_replaces_lists(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "ours.yaml",
        "extends: default\n"
        "school: {name: Larch Primary}\n"
        "rules:\n  grace_minutes: 30\n  evening: {after: \"16:30\"}\n"
        "reasons:\n  - {id: only-reason, title: Our one reason, text: The only reason we visit.}\n",
    )
    default, policy = load_policy(), load_policy(path)
    assert policy.school.name == "Larch Primary" and policy.school.timezone == "Europe/London"
    assert policy.rules.grace_minutes == 30
    assert f"{policy.rules.evening.after:%H:%M}" == "16:30" and policy.rules.evening.needs_two_staff
    assert policy.rules.longest_visit_minutes == default.rules.longest_visit_minutes
    assert [r.id for r in policy.reasons] == ["only-reason"]
    # The shipped DSL route keeps the risk factor this school still has, and drops the reason it left out.
    assert [(r.reasons, r.risk_factors) for r in policy.rules.routes] == [([], ["risk-child-protection"])]
    assert policy.guidance == default.guidance


def test_whole_file_override_needs_no_extends(tmp_path: Path) -> None:
    data = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
    data["version"] = "Larch 2026"
    data["rules"]["two_staff"] = ["always"]
    data["guidance"]["take"]["items"] = data["guidance"]["take"]["items"][:2]
    text = yaml.safe_dump(data, sort_keys=False).replace("'17:00'", '"17:00"')
    policy = load_policy(write(tmp_path, "whole.yaml", text))
    assert policy.version == "Larch 2026"
    assert policy.rules.two_staff == ["always"]
    assert len(policy.guidance.take.items) == 2


# --- a bad file at start-up: one line, the traceback only with --debug ----------------------------

HOST_APP = """
import os
from flask import Flask
from home_visits import HomeVisits

def create_app():
    app = Flask(__name__, instance_path=os.path.join(os.path.dirname(__file__), "instance"))
    app.config["HOME_VISITS_POLICY"] = os.environ["SCHOOL_POLICY"]
    HomeVisits(app)
    return app
"""


def _flask(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "host.py").write_text(HOST_APP, encoding="utf-8")
    policy = write(tmp_path, "school.yaml", BAD_FILES["wrong_type"][0])
    env = {k: v for k, v in os.environ.items() if k not in ("FLASK_DEBUG", "HOME_VISITS_DEBUG", "FLASK_APP")}
    env |= {"SCHOOL_POLICY": str(policy), "PYTHONPATH": os.pathsep.join([str(ROOT / "plugin"), str(tmp_path)])}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "host", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command", [["home-visits", "handbook", "build"], ["run", "--port", "0", "--no-reload"]])
def test_a_bad_policy_at_start_up_is_one_line(tmp_path: Path, command: list[str]) -> None:
    result = _flask(tmp_path, *command)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr and len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: the home-visit policy cannot be used: ")
    assert f"{tmp_path / 'school.yaml'}, line 3: rules.grace_minutes" in lines[0]
    assert "--debug" in lines[0]


def test_debug_shows_the_traceback_of_a_bad_policy(tmp_path: Path) -> None:
    result = _flask(tmp_path, "--debug", "home-visits", "handbook", "build")
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "PolicyError" in result.stderr
    assert "rules.grace_minutes" in result.stderr
