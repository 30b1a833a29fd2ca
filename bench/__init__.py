"""Benchmarks of the ledger, each figure set beside PostgreSQL's own pgbench measured in the same run.

Run with `make bench` (full sizes) or `make bench-smoke` / `BENCH_SMOKE=1` (tiny sizes, for CI).
Not tests: nothing here asserts a speed. See bench/README.md.
"""
