"""Benchmarks (issue G): ``python -m tests.benchmarks [--json PATH] [--quick]`` runs them all.

Not part of the default test run: ``tests/test_benchmark_smoke.py`` runs the suite at its smallest
sizes so it cannot rot. Modules: ``suite`` (the command and its table), ``feed`` (feed build against
bare icalendar; also ``python -m tests.benchmarks.feed``), ``memory`` (peak memory, own process),
``data`` (the big database), ``host`` (the host portal), ``pages``, ``sweep``, ``feed_http`` and ``load``
(the feed under waitress, loaded from another process), and ``handbook``.
"""
