"""Shared fixtures: every test starts and ends with vlmcompat's patches reverted and the
probe registry reset, so no test sees another's state."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("VLMCOMPAT_NO_AUTOPATCH", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# probes run fresh in tests: a result cached by an earlier run (same vlmcompat, same installs) would
# stand in for the run a test means to check; tests of the cache point VLMCOMPAT_CACHE at a folder
os.environ.setdefault("VLMCOMPAT_CACHE", "off")


@pytest.fixture(autouse=True)
def _clean_patch_state():
    from vlmcompat import patches, probes

    patches.revert()
    probes.reset()
    yield
    patches.revert()
    probes.reset()
