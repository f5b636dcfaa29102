"""Build the staff handbook (MkDocs) from the school's policy into a folder the plugin serves.

``flask home-visits handbook build`` calls :func:`build`; :mod:`.views` serves the result under the
plugin's own prefix. In a trust each school's handbook is built from its own policy into its own folder
(:func:`school_site`), from the files its :class:`~home_visits.schools.School` names (:meth:`Source.of`).
The MkDocs sources ship inside the wheel (``home_visits/handbook_src/``); in a checkout they are the
repository's ``mkdocs.yml`` and ``handbook/``.
No Flask here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..schools import School

HERE = Path(__file__).resolve().parent
PACKAGE = HERE.parent
#: Where the wheel carries the MkDocs sources (copied there when the wheel is built: see setup.py).
PACKAGED = PACKAGE / "handbook_src"
#: A checkout (an editable install): the repository root.
CHECKOUT = PACKAGE.parents[1]
#: The folder name of the built site in the instance folder, unless ``HOME_VISITS_HANDBOOK_DIR`` says otherwise.
SITE_FOLDER = "home_visits_handbook"


class HandbookError(RuntimeError):
    """The handbook could not be built; the message says why and what to do."""


def sources() -> Path:
    """The folder holding ``mkdocs.yml`` and its ``handbook/`` pages."""
    for root in (PACKAGED, CHECKOUT):
        if (root / "mkdocs.yml").is_file() and (root / "handbook" / "index.md").is_file():
            return root
    raise HandbookError(f"The handbook's MkDocs sources are missing (looked in {PACKAGED} and {CHECKOUT}); "
                        "reinstall the home-visits package.")


def site_dir(configured: str | None, instance_path: str) -> Path:
    """Where the built site lives: ``HOME_VISITS_HANDBOOK_DIR``, else a folder in the instance folder."""
    return Path(configured) if configured else Path(instance_path) / SITE_FOLDER


def school_site(site: Path, school: str, *, trust: bool) -> Path:
    """Where ``school``'s handbook lives: in a trust ``<site>/<school id>/``; a one-school portal's is ``site``."""
    return site / school if trust else site


@dataclass(frozen=True)
class Source:
    """What one school's handbook is built from: its policy file (``None``: the shipped policy), the trust's
    file it may extend, and the school's name (in a trust, from ``HOME_VISITS_SCHOOLS``)."""

    policy: str | None = None
    trust: str | None = None
    name: str | None = None

    @classmethod
    def of(cls, school: School, *, trust: bool) -> Source:
        """What ``school``'s handbook is built from; in a trust it carries the school's name."""
        return cls(school.policy_file, school.trust_file, school.name if trust else None)


def is_built(site: Path) -> bool:
    return (site / "index.html").is_file()


def mkdocs_config(root: Path, site: Path) -> dict[str, object]:
    """The repository's ``mkdocs.yml`` with every path made absolute, so it builds from anywhere."""
    config = yaml.safe_load((root / "mkdocs.yml").read_text(encoding="utf-8"))
    config["docs_dir"] = str(root / config.get("docs_dir", "docs"))
    config["site_dir"] = str(site)
    theme = config.get("theme") or {}
    if isinstance(theme, dict) and theme.get("custom_dir"):
        theme["custom_dir"] = str(root / theme["custom_dir"])
    for plugin in config.get("plugins") or []:
        if isinstance(plugin, dict) and "macros" in plugin:
            plugin["macros"]["module_name"] = str(HERE / "macros")  # the installed macros module
    return config


#: How the build tells the handbook's macros (``macros.py``, run by MkDocs) which policy to read.
POLICY_ENV, TRUST_ENV, NAME_ENV = "HOME_VISITS_POLICY", "HOME_VISITS_TRUST_POLICY", "HOME_VISITS_SCHOOL_NAME"


def build(site: Path, *, policy: str | None = None, timeout: float = 600, source: Source | None = None) -> Path:
    """Build the handbook (strict) from ``policy`` (``None``: the shipped policy), or from a school's
    ``source``, into ``site``; returns ``site``.

    The site is built beside ``site`` and moved into place, so a reader never sees half a handbook.
    """
    source = source or Source(policy)
    root = sources()
    site.parent.mkdir(parents=True, exist_ok=True)
    env = {key: value for key, value in os.environ.items() if key not in (POLICY_ENV, TRUST_ENV, NAME_ENV)}
    env["NO_MKDOCS_2_WARNING"] = "1"
    for key, file in ((POLICY_ENV, source.policy), (TRUST_ENV, source.trust)):
        if file:
            env[key] = str(Path(file).resolve())
    if source.name:
        env[NAME_ENV] = source.name
    with tempfile.TemporaryDirectory(dir=site.parent, prefix=f".{site.name}.") as work:
        fresh = Path(work) / "site"
        config_file = Path(work) / "mkdocs.yml"
        config_file.write_text(yaml.safe_dump(mkdocs_config(root, fresh), sort_keys=False), encoding="utf-8")
        result = subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "--quiet", "--strict", "-f", str(config_file)],
            cwd=work, env=env, capture_output=True, text=True, timeout=timeout,
        )
        if result.returncode != 0:
            raise HandbookError("The handbook did not build:\n" + (result.stderr or result.stdout)[-3000:])
        old = Path(work) / "old"
        if site.exists():
            site.rename(old)
        fresh.rename(site)
    return site
