"""The render pool: a few daemon threads that render accepted jobs.

Why not :class:`concurrent.futures.ThreadPoolExecutor`: Python joins an executor's
threads at interpreter exit, so a render still running then holds the process open.
For an emulator started inside a command (``--local`` with none running) that is a
hang after Ctrl-C: the command is done, its emulator with it, and nobody will ever
read the video. Worse, a KeyboardInterrupt that lands in the main thread while it is
importing can leave the import lock held (a CPython race), and a render thread that
imports a codec then waits forever for it while the exiting main thread waits for
the render thread. Daemon threads end with the process instead; a render is worth
nothing once its emulator is gone.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("novareel.emulator")

#: What a worker takes off the queue: the call, or None to stop.
_Work = tuple[Callable[..., Any], tuple[Any, ...]] | None


class RenderPool:
    """``workers`` daemon threads running submitted calls in order.

    :meth:`shutdown` drops the calls not started and stops the threads after the one
    each is running (they are never joined: see the module docstring).
    """

    def __init__(self, workers: int, name: str = "novareel-render") -> None:
        self._queue: queue.SimpleQueue[_Work] = queue.SimpleQueue()
        self._stopped = threading.Event()
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}_{i}", daemon=True)
            for i in range(max(1, workers))
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on a worker (an exception is logged, not raised)."""
        if self._stopped.is_set():
            raise RuntimeError("the render pool is shut down")
        self._queue.put((fn, args))

    def shutdown(self) -> None:
        """Forget the calls not started; each worker stops after its current call."""
        self._stopped.set()
        for _ in self._threads:
            self._queue.put(None)

    def _work(self) -> None:
        while True:
            work = self._queue.get()
            if work is None or self._stopped.is_set():
                return
            fn, args = work
            try:
                fn(*args)
            except Exception:  # the caller's own errors are its to report
                log.exception("render pool task failed")


__all__ = ["RenderPool"]
