"""Shared test set-up: offscreen Qt, no property-test deadlines, a throw-away pseudonymisation
key."""

from __future__ import annotations

import os

import pytest
import pyvisa
from hypothesis import settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Property tests check behaviour, never speed: no per-example deadline on a busy machine.
settings.register_profile("nirpoct", deadline=None)
settings.load_profile("nirpoct")


@pytest.fixture(autouse=True)
def _site_key(tmp_path_factory, monkeypatch):
    """Each test session pseudonymises with its own key, never the user's."""
    key_file = tmp_path_factory.getbasetemp() / "pseudonym.key"
    monkeypatch.setenv("NIRPOCT_KEY_FILE", str(key_file))
    monkeypatch.delenv("NIRPOCT_PSEUDONYM_KEY", raising=False)


@pytest.fixture
def raw():
    """Open raw pyvisa-py connections to simulated instruments (closed after the test)."""
    manager = pyvisa.ResourceManager("@py")
    opened = []

    def open_resource(resource_name: str):
        resource = manager.open_resource(
            resource_name, read_termination="\n", write_termination="\n", timeout=2000
        )
        opened.append(resource)
        return resource

    yield open_resource
    for resource in opened:
        resource.close()
