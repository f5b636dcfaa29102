"""Portal pages with years of history in the database: p95 of each page, small database against big.

The pages are requested through Flask's test client (in process: no network noise), as the person who
would open them, alternating between the two databases so that a busy moment hits both alike.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .data import Database
from .host import APPROVER_IDS, OFFICE_IDS, dispose, logged_in, make_host


@dataclass(frozen=True)
class Page:
    id: str
    name: str
    url: str
    user: str


#: The pages whose cost must not grow with history, and who opens them. ``s007`` is a member of
#: staff with an average share of the visits (lead, second member of staff or contact).
PAGES = (
    Page("my_visits", '"my visits" (staff)', "/home-visits/", "s007"),
    Page("all_visits", '"my visits", all visits (approver)', "/home-visits/?scope=all", APPROVER_IDS[0]),
    Page("approvals", "approvals queue", "/home-visits/approvals", APPROVER_IDS[0]),
    Page("dashboard", "dashboard (who is out)", "/home-visits/dashboard", OFFICE_IDS[0]),
)


def p95(samples: Sequence[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(small: Database, big: Database, *, requests: int = 60,
            warmup: int = 3) -> dict[str, tuple[float, float]]:
    """p95 seconds of each page on ``small`` and on ``big``: {page name: (big, small)}."""
    apps = [make_host(Path(db.instance)) for db in (small, big)]
    try:
        clients = {(i, page.name): logged_in(app, page.user) for i, app in enumerate(apps) for page in PAGES}
        times: dict[tuple[int, str], list[float]] = {key: [] for key in clients}
        for round_ in range(warmup + requests):
            for page in PAGES:
                for i in (0, 1) if round_ % 2 else (1, 0):
                    client = clients[i, page.name]
                    began = time.perf_counter()
                    response = client.get(page.url)
                    elapsed = time.perf_counter() - began
                    if response.status_code != 200:
                        raise RuntimeError(f"{page.url} as {page.user} answered {response.status_code}")
                    if round_ >= warmup:
                        times[i, page.name].append(elapsed)
        return {page.name: (p95(times[1, page.name]), p95(times[0, page.name])) for page in PAGES}
    finally:
        for app in apps:
            dispose(app)
