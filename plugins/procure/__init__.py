"""procure: procurement data warehouse for UK councils."""

__version__ = "0.1.0"
