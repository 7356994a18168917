"""Benchmarks that print figures (never tests): run `python -m benchmarks.run [--quick]`."""
