"""Shared fixtures: every test starts and ends with vlmcompat's patches reverted and the
probe registry reset, so no test sees another's state."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("VLMCOMPAT_NO_AUTOPATCH", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _clean_patch_state():
    from vlmcompat import patches, probes

    patches.revert()
    probes.reset()
    yield
    patches.revert()
    probes.reset()
