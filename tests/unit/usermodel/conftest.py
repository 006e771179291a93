"""Every test here leaves ``vlmcompat.tiny.FAMILIES`` and the active checkpoint as it found them."""

from __future__ import annotations

import pytest

from vlmcompat import tiny, usermodel


@pytest.fixture(autouse=True)
def restore_families(monkeypatch):
    monkeypatch.setattr(tiny, "FAMILIES", dict(tiny.FAMILIES))
    monkeypatch.setattr(usermodel, "_ACTIVE", None)
    yield
    tiny.cache.clear()
