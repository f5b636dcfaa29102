"""The calendar feed over HTTP: the portal under waitress on loopback, loaded by 8 concurrent clients.

Both the plugin's feed and the bare routes it is compared with live in the same app on the same
server (waitress, its default 4 threads), so the ratio is the plugin's own cost. The load comes from
:mod:`tests.benchmarks.load` in a separate process; rounds alternate plugin and baseline.

Waitress 3 closes the connection after every 304 (it sends ``Connection: close`` when a response has
no Content-Length, even one that can have no body), so each revalidation pays a new TCP connection,
for the bare route exactly as for the feed.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from home_visits.calendar import service as feeds
from home_visits.extension import state

from ..load.portal import Waitress
from .data import Database
from .host import APPROVER_IDS, BARE_200, BARE_304, BARE_ETAG, NOW, dispose, make_host

CLIENTS, THREADS = 8, 4


@dataclass
class Server:
    app: Flask
    url: str
    feed_path: str


@contextmanager
def serve(db: Database) -> Iterator[Server]:
    """The host portal on ``db`` under waitress on a free loopback port, with a live feed link for an
    approver (who sees every visit)."""
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    app = make_host(Path(db.instance))
    st = state(app)
    with st.sessions() as session:
        token = feeds.issue(session, st.directory.find(APPROVER_IDS[0]), scope=feeds.ALL, now=NOW)
        session.commit()
    server = Waitress(app, threads=THREADS)
    try:
        yield Server(app, server.url, f"/home-visits/calendar/{token}.ics")
    finally:
        server.stop()
        dispose(app)


def load(url: str, *, seconds: float, warmup: float, headers: dict[str, str] | None = None) -> dict[str, object]:
    command = [sys.executable, "-m", "tests.benchmarks.load", url, "--clients", str(CLIENTS),
               "--seconds", str(seconds), "--warmup", str(warmup)]
    for name, value in (headers or {}).items():
        command += ["--header", f"{name}: {value}"]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=Path(__file__).parents[2])
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _expect(result: dict[str, object], status: str, what: str) -> float:
    statuses = result["statuses"]
    assert isinstance(statuses, dict)
    if result["errors"] or set(statuses) != {status}:
        raise RuntimeError(f"{what}: expected only {status}, got {statuses} {result['errors']}")
    return float(result["rps"])  # type: ignore[arg-type]


def measure(db: Database, *, seconds: float, warmup: float, rounds: int) -> dict[str, float]:
    """Best requests/s over ``rounds`` of each: the feed's 304 and 200, and their bare routes."""
    import requests

    with serve(db) as server:
        first = requests.get(server.url + server.feed_path, timeout=120)
        first.raise_for_status()
        server.app.config["BENCH_FEED_BYTES"] = first.content
        etag, bare_etag = first.headers["ETag"], f'"{BARE_ETAG}"'
        runs = {
            "feed_304": (server.feed_path, {"If-None-Match": etag}, "304"),
            "bare_304": (BARE_304, {"If-None-Match": bare_etag}, "304"),
            "feed_200": (server.feed_path, {}, "200"),
            "bare_200": (BARE_200, {}, "200"),
        }
        best = {name: 0.0 for name in runs}
        for _ in range(rounds):
            for name, (path, headers, status) in runs.items():
                result = load(server.url + path, seconds=seconds, warmup=warmup, headers=headers)
                best[name] = max(best[name], _expect(result, status, name))
        best["feed_bytes"] = float(len(first.content))
        best["feed_events"] = float(first.content.count(b"BEGIN:VEVENT"))
        return best
