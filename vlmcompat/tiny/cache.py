"""How the probes' tiny models are computed: on one intra-op thread.

The layers are 32 wide, so torch's intra-op threads only add synchronisation, and on a machine
running other work (or two cells at once, ``nox -j 2`` on two cores) they oversubscribe the
cores and spin: a 32-wide ``Linear`` on a batch of two took 2.0 ms with 2 threads and 0.15 ms
with 1 on this project's 2-core machine under load (``benchmarks/probe_time.py`` has the effect
on whole cells). One thread also keeps the seeded numbers independent of the core count.
"""

from __future__ import annotations

THREADS = 1


def one_thread() -> None:
    """Run torch's CPU kernels on :data:`THREADS` intra-op thread(s) in this process."""
    import torch

    if torch.get_num_threads() != THREADS:
        torch.set_num_threads(THREADS)
