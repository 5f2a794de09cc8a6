"""Shared test helpers, imported by name: ``from tests.helpers.studies import run_quadratic``."""
