"""The wheel a school installs carries the templates, the policy and the migrations."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_templates_policy_and_migrations(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (wheel,) = tmp_path.glob("home_visits-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "home_visits/policy/default.yaml",
        "home_visits/templates/home_visits/_page.html",
        "home_visits/templates/home_visits/plan_form.html",
        "home_visits/static/home_visits.css",
        "home_visits/migrations/env.py",
        "home_visits/migrations/script.py.mako",
        "demo_portal/templates/portal_base.html",
        "home_visits/templates/home_visits/error.html",
        "home_visits/templates/home_visits/appbuilder.html",
        # the handbook's MkDocs sources, for `flask home-visits handbook build` from an installed wheel
        "home_visits/handbook_src/mkdocs.yml",
        "home_visits/handbook_src/handbook/index.md",
        "home_visits/handbook_src/handbook/stylesheets/handbook.css",
    }
    assert expected <= names, expected - names
    versions = [n for n in names if n.startswith("home_visits/migrations/versions/") and n.endswith(".py")]
    assert len(versions) == len(list((ROOT / "plugin/home_visits/migrations/versions").glob("*.py")))
    assert not [n for n in names if n.startswith("tests/")]
    pages = {p.relative_to(ROOT).as_posix() for p in (ROOT / "handbook").rglob("*") if p.is_file()}
    assert {f"home_visits/handbook_src/{page}" for page in pages} <= names
