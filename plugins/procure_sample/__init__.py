"""Deterministic synthetic sample data (spend, contracts, notices) for the demo."""
