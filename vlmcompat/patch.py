"""``import vlmcompat.patch`` installs vlmcompat's version-aware fixes in place.

Set ``VLMCOMPAT_NO_AUTOPATCH=1`` to import without side effects, then call
``vlmcompat.patch.apply()`` yourself. ``revert()`` restores the stock classes exactly;
``status()`` says what is applied. Logging goes to the ``vlmcompat.patch`` logger.
"""

from __future__ import annotations

import os

from vlmcompat.patches import apply, is_applied, revert, status

__all__ = ["AUTOPATCH_ENV", "apply", "is_applied", "revert", "status"]

AUTOPATCH_ENV = "VLMCOMPAT_NO_AUTOPATCH"

if os.environ.get(AUTOPATCH_ENV, "").strip().lower() not in ("1", "true", "yes", "on"):
    apply()
