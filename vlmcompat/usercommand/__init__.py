"""The user's own command as a probe (``probe = "run"``): ``vlmcompat probe --run CMD``,
``run = [...]`` in matrix.toml, ``nox -s matrix -- --run CMD``.

The command runs in the cell's environment from the folder the probe command was started in (the
project's folder), once as is (native) and once with ``import vlmcompat.patch`` applied before the
user's code runs (patched, through :mod:`~vlmcompat.usercommand.shim`). Its exit status, duration
and output tail are the result; a failure's output goes through ``vlmcompat.explain``, so it
carries a known-issue id where one matches. The probe is registered only when a command is given
(:func:`enable`), so cells without one show no ``run`` column.
"""

from __future__ import annotations

import json
import os

from vlmcompat.paths import PROBES_ENV

RUN_ENV = "VLMCOMPAT_RUN"  # JSON list of the commands, for the probe workers
PROBE_REF = "vlmcompat.usercommand.probe:PROBE"
PROBE_NAME = "run"


def enable(commands: list[str], environ: dict[str, str] | None = None) -> None:
    """Register the run probe (here and in the probe workers) for ``commands``."""
    env = os.environ if environ is None else environ
    env[RUN_ENV] = json.dumps(list(commands))
    refs = [r for r in env.get(PROBES_ENV, "").split(",") if r.strip()]
    if PROBE_REF not in refs:
        env[PROBES_ENV] = ",".join([*refs, PROBE_REF])


def commands(environ: dict[str, str] | None = None) -> list[str]:
    value = (os.environ if environ is None else environ).get(RUN_ENV)
    return list(json.loads(value)) if value else []
