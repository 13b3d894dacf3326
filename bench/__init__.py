"""Benchmark harness for the bus: `python -m bench.run` (see bench/README.md)."""
