"""Ordered parallel map on a thread pool with a bounded number of results in flight.

Decoding (libpng, libjpeg, OpenCV, Pillow) releases the GIL, so threads give parallel decoding without
the start-up and copy costs of worker processes; memory stays bounded by ``max_pending`` results.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

__all__ = ["ordered_map"]

T = TypeVar("T")
R = TypeVar("R")


def ordered_map(fn: Callable[[T], R], items: Iterable[T], num_workers: int, max_pending: int) -> Iterator[R]:
    """Yield ``fn(item)`` for each item, in order, computing up to ``max_pending`` ahead on threads.

    With ``num_workers <= 1`` everything runs in the calling thread. An exception raised by ``fn`` is
    raised here, at that item; pending work is cancelled when the generator is closed.
    """
    if num_workers <= 1:
        for item in items:
            yield fn(item)
        return
    pool = ThreadPoolExecutor(num_workers)
    pending: deque[Future[R]] = deque()
    source = iter(items)
    try:
        for item in source:
            pending.append(pool.submit(fn, item))
            if len(pending) >= max(1, max_pending):
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


def check_loader_args(on_error: str, output: str, batch_size: int | None) -> None:
    """The argument checks every odkit dataset shares (ValueError naming the argument)."""
    if on_error not in ("skip", "raise"):
        raise ValueError(f"on_error must be 'skip' or 'raise'; got {on_error!r}")
    if output not in ("numpy", "torch"):
        raise ValueError(f"output must be 'numpy' or 'torch'; got {output!r}")
    if batch_size is not None and int(batch_size) <= 0:
        raise ValueError(f"batch_size must be a positive int or None; got {batch_size!r}")
