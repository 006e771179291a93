"""How the probes get their tiny models: each built once per process and handed out as copies,
computed on one intra-op thread.

**Copies.** A probe task needs up to four models of its family, and a cell runs about a hundred
tasks; building one costs 70-200 ms here (module construction plus transformers' weight init),
a deep copy about half that. :func:`copy_of` builds the *master* for a key once per process
and returns a deep copy every time, with torch's RNG state set to what the build itself leaves
(``torch.manual_seed(seed)`` then the state after construction), so a copy is bit-identical
to a fresh build and everything seeded afterwards (LoRA init, dropout) draws the same numbers
as after a fresh build. The master is never handed out: a probe that trains its copy cannot
change the next probe's model. Keys name the class that was built, so a class a patch
provides (a backport) gets a master of its own; patches replace methods, never construction
(``tests/unit/tiny/test_cache.py`` holds them to that).

**One thread.** The layers are 32 wide, so torch's intra-op threads only add synchronisation,
and on a machine running other work (or two cells at once, ``nox -j 2`` on two cores) they
oversubscribe the cores and spin: a 32-wide ``Linear`` on a batch of two took 2.0 ms with 2
threads and 0.15 ms with 1 on this project's 2-core machine under load
(``benchmarks/probe_time.py`` has the effect on whole cells). One thread also keeps the
seeded numbers independent of the core count.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

THREADS = 1


@dataclass(frozen=True)
class Master:
    model: Any  # never handed out
    rng_state: Any  # torch's CPU generator state right after the build


_MASTERS: dict[Hashable, Master] = {}


def one_thread() -> None:
    """Run torch's CPU kernels on :data:`THREADS` intra-op thread(s) in this process."""
    import torch

    if torch.get_num_threads() != THREADS:
        torch.set_num_threads(THREADS)


def master(key: Hashable, seed: int, build: Callable[[], Any]) -> Master:
    """The master for ``key``: ``build()`` (which seeds torch with ``seed``) the first time, then
    kept for this process; a build that raises is not kept."""
    import torch

    found = _MASTERS.get(key)
    if found is None:
        one_thread()
        model = build()
        found = _MASTERS[key] = Master(model, torch.get_rng_state())
    else:
        torch.manual_seed(seed)  # every generator, as the build does; then the CPU one as the build left it
        torch.set_rng_state(found.rng_state)
    return found


def copy_of(key: Hashable, seed: int, build: Callable[[], Any]) -> Any:
    """A deep copy of the master for ``key``, equal to what ``build()`` returns, with torch's RNG
    left as ``build()`` leaves it."""
    one_thread()
    return copy.deepcopy(master(key, seed, build).model)


def clear() -> None:
    """Forget every master (tests)."""
    _MASTERS.clear()
