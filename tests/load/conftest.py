"""The load test runs only when asked for by name (``-m load``): any other ``-m`` expression, such as
``.ci/run``'s ``-m "not browser"``, would otherwise replace the default ``-m 'not load'``."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    expression = config.getoption("markexpr") or ""
    if "load" in expression and "not load" not in expression:
        return
    chosen, left_out = [], []
    for item in items:
        (left_out if item.get_closest_marker("load") else chosen).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = chosen
