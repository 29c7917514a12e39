"""Benchmarks (`python -m bench.<name>`); each exposes `run() -> dict`."""
