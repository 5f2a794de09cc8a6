"""A per-trial time cap that interrupts the code it guards (``trial_timeout_s``).

Two mechanisms, chosen per use by the thread that enters the guard:

- **Main thread (POSIX):** a one-shot ``ITIMER_REAL`` timer; its ``SIGALRM`` handler raises
  :class:`TrialTimeout`. Python runs the handler between bytecodes, and a signal also ends a
  ``time.sleep`` or a blocking system call early, so pure-Python loops, sleeps and epoch loops
  (torch) stop at the cap. Used by every adapter that evaluates in the study's process (Optuna,
  Hyperopt, Ax, scikit-learn).
- **Any other thread** (Ray Tune runs a function trainable in a thread of its worker), or when
  something else already armed ``ITIMER_REAL``: a watchdog :class:`threading.Timer` raises
  :class:`TrialTimeout` in the guarded thread with ``PyThreadState_SetAsyncExc``, at that
  thread's next bytecode: a sleep or a blocking call in it finishes first.

Neither interrupts one long C call (a BLAS kernel, libsvm's fit) before it returns: the trial
then stops, and is recorded as timed out, when the call returns. A native call that never
returns is left to the job's own time limit (Snakemake/SLURM ``runtime``).

:meth:`Deadline.hold` defers the interruption while the harness talks to the framework
(relaying an epoch to a pruner or to Ray), so a framework call is never cut half-way; the trial
stops as soon as the held block ends.
"""

from __future__ import annotations

import _signal  # signal's C functions: signal.signal's enum conversions cost 30 µs per call
import contextlib
import ctypes
import signal
import threading
from collections.abc import Iterator
from types import FrameType, TracebackType
from typing import Any

__all__ = ["Deadline", "TrialTimeout"]


class TrialTimeout(BaseException):
    """Raised inside a trial that ran past its time cap.

    A ``BaseException`` (like ``KeyboardInterrupt``), so that a task's own ``except Exception``
    does not swallow it; :func:`tunebench.harness.trial.evaluate_trial` catches it.
    """


def _async_raise(thread_id: int, exc: type[BaseException] | None) -> None:
    """Raise ``exc`` in thread ``thread_id`` at its next bytecode (``None``: cancel a pending
    one that it has not raised yet)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc is not None else None
    )


class Deadline:
    """Interrupts the block it guards (``with deadline:``) after ``seconds``.

    Args:
        seconds: The cap; ``None`` guards nothing (no timer, no cost).

    Attributes:
        expired: Whether the cap was reached while the block ran (set even if the guarded code
            caught :class:`TrialTimeout`; that is what decides a timeout, not the exception).
    """

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.expired = False
        self._active = False
        self._held = 0
        self._pending = False
        self._mode = ""
        self._thread = 0
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._previous: Any = None

    def __enter__(self) -> Deadline:
        if self.seconds is None:
            return self
        self._thread = threading.get_ident()
        self._active = True
        if (
            hasattr(signal, "setitimer")
            and threading.current_thread() is threading.main_thread()
            and signal.getitimer(signal.ITIMER_REAL)[0] == 0
        ):
            self._mode = "alarm"
            self._previous = _signal.signal(signal.SIGALRM, self._on_alarm)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        else:
            self._mode = "watchdog"
            self._timer = threading.Timer(self.seconds, self._on_watchdog)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._mode == "alarm":
            self._active = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            # signal() first runs a pending handler (ours, now a no-op), then restores
            previous = signal.SIG_DFL if self._previous is None else self._previous
            _signal.signal(signal.SIGALRM, previous)
        elif self._mode == "watchdog":
            assert self._timer is not None
            with self._lock:
                self._active = False
                self._timer.cancel()
                if self.expired:  # raised in this thread, or still pending: cancel it
                    _async_raise(self._thread, None)
        self._mode = ""

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        if not self._active:
            return
        if self._held:
            self._pending = True
            return
        self.expired = True
        raise TrialTimeout

    def _on_watchdog(self) -> None:
        with self._lock:
            if not self._active:
                return
            if self._held:
                self._pending = True
                return
            self.expired = True
            _async_raise(self._thread, TrialTimeout)

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Defer the interruption until the block ends (then raise if the cap was reached)."""
        if self._mode == "watchdog":
            with self._lock:
                self._held += 1
        else:
            self._held += 1
        try:
            yield
        finally:
            if self._mode == "watchdog":
                with self._lock:
                    self._held -= 1
            else:
                self._held -= 1
        if self._pending and not self._held and self._active:
            self._pending = False
            self.expired = True
            raise TrialTimeout
