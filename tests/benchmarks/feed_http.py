"""The calendar feed over HTTP: the portal under waitress on loopback, loaded by 8 concurrent clients.

Both the plugin's feed and the bare routes it is compared with live in the same app on the same
server (waitress, its default 4 threads), so the ratio is the plugin's own cost. The load comes from
:mod:`tests.benchmarks.load` in a separate process; rounds alternate plugin and baseline.

Waitress 3 closes the connection after every 304 (it sends ``Connection: close`` when a response has
no Content-Length, even one that can have no body), so each revalidation pays a new TCP connection,
for the bare route exactly as for the feed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import waitress
from flask import Flask

from home_visits import feeds
from home_visits.extension import state

from . import whatif
from .data import Database
from .host import APPROVER_IDS, BARE_200, BARE_304, BARE_ETAG, NOW, dispose, make_host

CLIENTS, THREADS = 8, 4


@dataclass
class Server:
    app: Flask
    url: str
    feed_path: str
    #: The fixes of :mod:`.whatif` in this server ("" for the plugin as it is).
    fixes: str = ""


@contextmanager
def serve(db: Database, *, fixed: bool = False) -> Iterator[Server]:
    """The host portal on ``db`` under waitress on a free loopback port, with a live feed link for an
    approver (who sees every visit); ``fixed``: with the fixes of :mod:`.whatif`."""
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    app = make_host(Path(db.instance))
    st = state(app)
    with st.sessions() as session:
        token = feeds.issue(session, st.directory.find(APPROVER_IDS[0]), scope=feeds.ALL, now=NOW)
        session.commit()
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=THREADS)
    thread = threading.Thread(target=server.run, name="benchmark-waitress", daemon=True)
    thread.start()
    try:
        with whatif.applied(app) if fixed else nullcontext("") as fixes:
            yield Server(app, f"http://127.0.0.1:{server.effective_port}", f"/home-visits/calendar/{token}.ics", fixes)
    finally:
        _stop(server, thread)
        dispose(app)


def _stop(server: object, thread: threading.Thread) -> None:
    """Close every channel from inside waitress's own loop (so the loop ends), then its workers."""

    def close_everything() -> None:
        for channel in list(server._map.values()):  # type: ignore[attr-defined]
            channel.close()

    server.trigger.pull_trigger(close_everything)  # type: ignore[attr-defined]
    thread.join(timeout=10)
    server.task_dispatcher.shutdown(timeout=5)  # type: ignore[attr-defined]
    if thread.is_alive():
        raise RuntimeError("the benchmark's waitress server did not stop")


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


def measure(db: Database, *, seconds: float, warmup: float, rounds: int,
            fixed: bool = False) -> tuple[dict[str, float], str, str]:
    """Best requests/s over ``rounds`` of each: the feed's 304 and 200, and their bare routes; a
    digest of the feed as served; and the fixes applied (``fixed``)."""
    import requests

    with serve(db, fixed=fixed) as server:
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
        return best, hashlib.sha256(first.content).hexdigest(), server.fixes
