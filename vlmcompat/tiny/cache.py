"""How the probes get their tiny models: each built once per process and handed out as copies,
computed on one intra-op thread.

**Copies.** A probe task needs up to four models of its family, and a cell runs about a hundred
tasks; building one costs 70-200 ms here (module construction plus transformers' weight init),
``copy.deepcopy`` about half of that and :func:`deep_copy` about a fifth. :func:`copy_of` builds
the *master* for a key once per process and returns a deep copy every time, with torch's RNG
state set to what the build itself leaves (``torch.manual_seed(seed)`` then the state after
construction), so a copy is bit-identical to a fresh build and everything seeded afterwards
(LoRA init, dropout) draws the same numbers as after a fresh build. The master is never handed
out: a probe that trains its copy cannot change the next probe's model. Keys name the class
that was built, so a class a patch provides (a backport) gets a master of its own; patches
replace methods, never construction (``tests/unit/tiny/test_cache.py`` holds them to that).

**One thread.** The layers are 32 wide, so torch's intra-op threads only add synchronisation,
and on a machine running other work (or two cells at once, ``nox -j 2`` on two cores) they
oversubscribe the cores and spin: a 32-wide ``Linear`` on a batch of two took 2.0 ms with 2
threads and 0.15 ms with 1 on this project's 2-core machine under load
(``benchmarks/probe_time.py`` has the effect on whole cells). One thread also keeps the
seeded numbers independent of the core count.
"""

from __future__ import annotations

import collections
import copy
import functools
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
    return deep_copy(master(key, seed, build).model)


def deep_copy(obj: Any, memo: dict[int, Any] | None = None) -> Any:
    """``copy.deepcopy(obj)``, faster for trees of ``torch.nn.Module``.

    ``copy.deepcopy`` reconstructs every object through ``__reduce_ex__``, including the ten or
    so hook dicts every module holds, almost always empty. A module whose class copies the
    default way (no ``__deepcopy__``, ``__reduce_ex__``, ``__getstate__``, ``__setstate__`` or
    ``__slots__`` of its own) is copied here attribute by attribute instead: empty dicts become
    new empty dicts of the same type, immutable atoms are kept, submodules recurse, everything
    else (tensors, configs, non-empty containers) goes through ``copy.deepcopy`` with the shared
    memo, so tied weights stay tied and a config shared by several modules stays shared.
    """
    import torch

    memo = {} if memo is None else memo
    found = memo.get(id(obj))
    if found is not None:
        return found
    if not isinstance(obj, torch.nn.Module) or not _copies_by_default(type(obj)):
        return copy.deepcopy(obj, memo)
    new = object.__new__(type(obj))
    memo[id(obj)] = new
    state = {}
    for name, value in obj.__dict__.items():
        if name == "_modules":
            state[name] = {k: None if m is None else deep_copy(m, memo) for k, m in value.items()}
        elif type(value) in _ATOMS:  # exactly the types copy.deepcopy returns as they are
            state[name] = value
        elif type(value) in _PLAIN_DICTS and not value:
            state[name] = type(value)()
        else:
            state[name] = copy.deepcopy(value, memo)
    new.__dict__.update(state)
    return new


_ATOMS = (type(None), bool, int, float, complex, str, bytes, type, range)
_PLAIN_DICTS = (dict, collections.OrderedDict)


@functools.cache
def _copies_by_default(cls: type) -> bool:
    """Whether ``copy.deepcopy`` would copy an instance of this module class as
    ``object.__new__`` + a deep copy of its ``__dict__`` (``nn.Module.__setstate__`` only fills in
    attributes that modules pickled by old torch releases lack)."""
    import torch

    module = torch.nn.Module
    return ("__deepcopy__" not in dir(cls) and cls.__reduce_ex__ is object.__reduce_ex__
            and cls.__reduce__ is object.__reduce__
            and getattr(cls, "__getstate__", None) in (getattr(module, "__getstate__", None),
                                                      getattr(object, "__getstate__", None))
            and cls.__setstate__ is module.__setstate__
            and not any("__slots__" in vars(base) for base in cls.__mro__ if base is not object))


def clear() -> None:
    """Forget every master (tests)."""
    _MASTERS.clear()
