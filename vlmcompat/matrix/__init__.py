"""The version matrix: what matrix.toml asks for, and how one cell is built, run and recorded.

- :mod:`~vlmcompat.matrix.spec` — matrix.toml → :class:`CellSpec` list, with ``path:line:`` errors
  (:mod:`~vlmcompat.matrix.source` finds the lines);
- :mod:`~vlmcompat.matrix.venv` — a uv venv with the pinned stack, sharing the host's torch;
  install failures classified (not-found, unresolvable, network, build-failed);
- :mod:`~vlmcompat.matrix.cell` — install, link vlmcompat in, the probe command, and the records
  written when a cell cannot be probed; used alike by the noxfile, ``gate --requirements`` and
  ``bisect``.

Importing this package imports only the spec (no subprocesses, no torch).
"""

from __future__ import annotations

from vlmcompat.matrix.spec import CellSpec, Expectation, Matrix, load, parse, version_label

__all__ = ["CellSpec", "Expectation", "Matrix", "load", "parse", "version_label"]
