"""Side-by-side benchmark of the example app against MLflow's own tracking server.

``make bench`` (``python -m benchmarks.run``) starts each server on a fresh database, drives it
with the same deterministic HTTP workload, measures the database's own insert limit, prints a
table of medians with the ratio ours/MLflow and writes the figures to
``benchmarks/results/<timestamp>.json``. See ``docs/performance.md``.
"""
