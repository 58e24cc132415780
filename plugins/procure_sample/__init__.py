"""Deterministic synthetic sample data (spend, contracts, notices) for the demo and the tests.

A package of its own, beside ``procure``: the pipeline never imports it (tests/unit/test_import_boundaries.py);
only the ``procure sample-data`` command does, lazily, and the tests and the benchmark.
"""
