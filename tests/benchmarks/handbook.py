"""The handbook build (``mkdocs build --strict``) against the same pages written out as plain Markdown.

Once: build the real handbook with a hook that runs after the macros plugin and writes every page's
rendered Markdown into a copy of the docs folder, and write a ``mkdocs.yml`` that is the repository's
minus the macros plugin (plus the footer the macros set), pointing at that copy: both builds write
the same HTML pages. Then time both builds, each a fresh ``mkdocs`` process
as a school would run it, alternating, best of ``runs``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
MKDOCS_YML = ROOT / "mkdocs.yml"

HOOK = '''
import os
from pathlib import Path

from mkdocs.plugins import event_priority

OUT = Path(os.environ["HOME_VISITS_BENCH_PLAIN_DOCS"])


@event_priority(-100)  # after every plugin, the macros plugin included
def on_page_markdown(markdown, page, config, files):
    target = OUT / page.file.src_uri
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(markdown, encoding="utf-8")
    # The macros set the footer from the policy: the plain build gets it as a plain setting.
    (OUT.parent / "copyright.txt").write_text(config.get("copyright") or "", encoding="utf-8")
    return markdown
'''


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "NO_MKDOCS_2_WARNING": "1", **extra}


def _build(config: Path, site: Path, **env: str) -> float:
    shutil.rmtree(site, ignore_errors=True)
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--quiet", "--strict", "-f", str(config), "-d", str(site)],
                   check=True, cwd=ROOT, env=_env(**env), stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


def _config() -> dict[str, Any]:
    loaded = yaml.safe_load(MKDOCS_YML.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _write(config: dict[str, Any], target: Path) -> Path:
    target.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return target


def prepare(work: Path) -> tuple[Path, Path]:
    """(the macro build's config, the plain build's config), both with absolute paths."""
    plain_docs = work / "plain_docs"
    source = ROOT / _config()["docs_dir"]
    shutil.copytree(source, plain_docs)

    # The real configuration, with the capturing hook added: the rendered pages land in plain_docs.
    (work / "capture_hook.py").write_text(HOOK, encoding="utf-8")
    capture = _config()
    capture["docs_dir"] = str(source)
    capture["theme"]["custom_dir"] = str(ROOT / capture["theme"]["custom_dir"])
    for plugin in capture["plugins"]:
        if isinstance(plugin, dict) and "macros" in plugin:
            plugin["macros"]["module_name"] = str(ROOT / plugin["macros"]["module_name"])
    capture["hooks"] = [str(work / "capture_hook.py")]
    _build(_write(capture, work / "capture.yml"), work / "capture_site", HOME_VISITS_BENCH_PLAIN_DOCS=str(plain_docs))

    # The same configuration minus the macros plugin, over the written-out pages.
    plain = _config()
    overrides = Path(plain["theme"]["custom_dir"]).relative_to(plain["docs_dir"])
    plain["docs_dir"] = str(plain_docs)
    plain["theme"]["custom_dir"] = str(plain_docs / overrides)
    plain["plugins"] = [p for p in plain["plugins"] if not (isinstance(p, dict) and "macros" in p) and p != "macros"]
    if footer := (work / "copyright.txt").read_text(encoding="utf-8"):
        plain["copyright"] = footer
    return MKDOCS_YML, _write(plain, work / "plain.yml")


def same_site(one: Path, other: Path) -> bool:
    """Both builds wrote the same files with the same bytes."""
    files = sorted(path.relative_to(one) for path in one.rglob("*") if path.is_file())
    return files == sorted(path.relative_to(other) for path in other.rglob("*") if path.is_file()) and all(
        (one / name).read_bytes() == (other / name).read_bytes() for name in files
    )


def measure(work: Path, *, runs: int) -> tuple[float, float, bool]:
    """Best seconds of ``runs`` builds of the real handbook and of the plain-Markdown copy, and
    whether both wrote the same site."""
    real, plain = prepare(work)
    builds = {"real": real, "plain": plain}
    times: dict[str, list[float]] = {name: [] for name in builds}
    for n in range(runs):
        for name in list(builds) if n % 2 == 0 else reversed(list(builds)):
            times[name].append(_build(builds[name], work / f"site-{name}"))
    return min(times["real"]), min(times["plain"]), same_site(work / "site-real", work / "site-plain")
