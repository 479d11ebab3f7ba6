"""Benchmarks of micro-user: ``./scripts/bench`` (or ``python -m bench``); see bench/README.md."""
