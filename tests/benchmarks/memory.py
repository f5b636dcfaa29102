"""Peak memory of building one big feed, in a fresh process so nothing else inflates the peak.

    python -m tests.benchmarks.memory 20000

Prints one JSON line: the process's peak resident set size before the build (interpreter, imports and
the events themselves) and after it, in bytes, and the feed's size. The peak is ``VmHWM`` from
``/proc/self/status``: ``getrusage``'s ``ru_maxrss`` would not do, because Linux carries the parent's
high-water mark into a child started with vfork and exec (as ``subprocess`` does).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Sequence

from .feed import make_events, plugin


def _peak() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # not Linux: kilobytes on most systems


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    count = int(args[0]) if args else 20_000
    events = make_events(count)
    plugin(make_events(5))  # imports and caches, as a server that has built a feed before
    before = _peak()
    began = time.perf_counter()
    body = plugin(events)
    seconds = time.perf_counter() - began
    print(json.dumps({"visits": count, "peak_before": before, "peak_after": _peak(), "feed_bytes": len(body),
                      "seconds": seconds}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
