"""The README's recipes are the test hosts' own lines: what the suite runs is what a school copies."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HOSTS = {"Flask-Security-Too": "security_portal.py", "Flask-AppBuilder": "appbuilder_portal.py"}


def recipe(host_file: str) -> tuple[str, str]:
    """(framework, lines) between ``# recipe: <framework>`` and ``# end of recipe`` in a host, dedented."""
    source = (Path(__file__).parent / host_file).read_text()
    found = re.search(r"^ *# recipe: ([^\n]+)\n(.*?)^ *# end of recipe$", source, re.M | re.S)
    assert found, f"no recipe in tests/hosts/{host_file}"
    return found.group(1), textwrap.dedent(found.group(2)).strip()


def readme_section(framework: str) -> str:
    readme = (ROOT / "README.md").read_text()
    heading = f"### Embedding in a {framework} portal"
    assert heading in readme, f"the README has no section {heading!r}"
    return readme.split(heading, 1)[1].split("\n#", 1)[0]


@pytest.mark.parametrize(("framework", "host_file"), HOSTS.items())
def test_the_readme_recipe_is_the_hosts_lines(framework: str, host_file: str) -> None:
    named, lines = recipe(host_file)
    assert named == framework
    blocks = [block.strip() for block in re.findall(r"```python\n(.*?)```", readme_section(framework), re.S)]
    assert lines in blocks, (f"README.md's {framework} recipe differs from tests/hosts/{host_file}; "
                             f"copy these lines into it:\n{lines}")
