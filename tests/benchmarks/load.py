"""A load generator in its own process (so it never shares a GIL with the server it measures).

    python -m tests.benchmarks.load URL [--clients 8] [--seconds 3] [--warmup 0.5] [--header 'Name: value']

Each client is a thread with one keep-alive HTTP/1.1 connection that sends GET after GET. Prints one
JSON line: requests completed in the measured window (after the warm-up), requests/s, and every
status seen. Loopback only: it refuses any host but 127.0.0.1 and localhost.
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
from collections import Counter
from collections.abc import Sequence
from urllib.parse import urlsplit


def run(url: str, *, clients: int, seconds: float, warmup: float, headers: dict[str, str]) -> dict[str, object]:
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost"):
        raise SystemExit(f"loopback only, not {parts.hostname}")
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    start = threading.Barrier(clients + 1)
    lock = threading.Lock()
    done: list[float] = []
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    began = [0.0]

    def client() -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        mine, seen = [], Counter()
        start.wait()
        end = began[0] + warmup + seconds
        try:
            while time.perf_counter() < end:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                mine.append(time.perf_counter())
                seen[response.status] += 1
        except Exception as error:  # noqa: BLE001 - reported, not raised: the parent decides
            errors.append(repr(error))
        finally:
            connection.close()
        with lock:
            done.extend(mine)
            statuses.update(seen)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    began[0] = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join()
    window_start, window_end = began[0] + warmup, began[0] + warmup + seconds
    counted = sum(1 for at in done if window_start <= at <= window_end)
    return {"requests": counted, "seconds": seconds, "rps": counted / seconds,
            "statuses": {str(code): n for code, n in sorted(statuses.items())}, "errors": errors[:3]}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.load", description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--header", action="append", default=[], help="'Name: value' (repeatable)")
    args = parser.parse_args(argv)
    headers = dict(item.split(":", 1) for item in args.header)
    headers = {name.strip(): value.strip() for name, value in headers.items()}
    result = run(args.url, clients=args.clients, seconds=args.seconds, warmup=args.warmup, headers=headers)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
