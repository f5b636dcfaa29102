"""``python -m tests.benchmarks [--json PATH] [--quick]``: see :mod:`tests.benchmarks.suite`."""

from .suite import main

raise SystemExit(main())
