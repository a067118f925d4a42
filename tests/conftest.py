"""Shared test set-up: offscreen Qt, a throw-away pseudonymisation key, simulator fixtures."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _site_key(tmp_path_factory, monkeypatch):
    """Each test session pseudonymises with its own key, never the user's."""
    key_file = tmp_path_factory.getbasetemp() / "pseudonym.key"
    monkeypatch.setenv("NIRPOCT_KEY_FILE", str(key_file))
    monkeypatch.delenv("NIRPOCT_PSEUDONYM_KEY", raising=False)
