"""Shared test set-up. Shared helpers live in :mod:`tests.helpers`, imported by name."""

from __future__ import annotations

import pytest

# The helpers assert on behalf of the tests (the adapter contract, check_timeouts): let pytest
# rewrite their asserts so that a failure shows the values compared.
pytest.register_assert_rewrite("tests.helpers")
