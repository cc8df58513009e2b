"""Benchmarks, run on demand (`python -m benchmarks`); never part of the test suite."""
