"""How vlmcompat's processes stop: nothing left running, nothing half-recorded.

- :func:`raise_on_signals` — SIGINT/SIGTERM raise an exception once, so a probe run can kill its
  worker and record itself as interrupted; later signals wait until that is done.
- :func:`held` — SIGINT/SIGTERM are delivered only after a block (a record being finalised).
- :func:`die_with_parent` — this process gets a signal when its parent dies (Linux
  ``PR_SET_PDEATHSIG``), so a worker or a ``nox -j`` child never outlives whoever started it.
- :func:`terminate_like_interrupt` — SIGTERM ends a process the way Ctrl-C does
  (``KeyboardInterrupt``), so nox stops the command it is running instead of vanishing and
  leaving it behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Callable, Iterator

STOP = (signal.SIGINT, signal.SIGTERM)
PR_SET_PDEATHSIG = 1


@contextlib.contextmanager
def raise_on_signals(make: Callable[[int], BaseException]) -> Iterator[None]:
    """Inside the block, the first SIGINT/SIGTERM raises ``make(signum)``; later ones are dropped
    until the block ends. Outside the main thread nothing changes."""
    fired: list[int] = []

    def handler(signum, frame):
        if not fired:
            fired.append(signum)
            raise make(signum)

    try:
        previous = {sig: signal.signal(sig, handler) for sig in STOP}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def held() -> Iterator[None]:
    """SIGINT/SIGTERM arriving inside the block are delivered when it ends."""
    signal.pthread_sigmask(signal.SIG_BLOCK, set(STOP))
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, set(STOP))


def die_with_parent(signum: int = signal.SIGTERM, parent: int | None = None) -> bool:
    """Ask the kernel for ``signum`` when the parent process dies (Linux; elsewhere nothing).
    With ``parent`` given and already gone, deliver it now. Whether the request was made."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signum)) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if parent is not None and os.getppid() != parent:  # the parent died before the request
        os.kill(os.getpid(), signum)
    return True


def terminate_like_interrupt() -> None:
    """SIGTERM raises KeyboardInterrupt in this process (main thread only)."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGTERM, interrupt)
