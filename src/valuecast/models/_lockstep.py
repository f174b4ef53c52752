"""Many fits run together: each in a thread of its own, their likelihoods evaluated in batches.

A bootstrap refits one model a hundred times on a few hundred distinct histories. Each refit's
likelihood is cheap in arithmetic but costs a fixed overhead per NumPy operation (the Pareto/NBD
hypergeometric terms run tens to thousands of operations per evaluation on arrays of a few
hundred elements). :func:`run_together` runs the fits side by side: every fit's optimiser runs
in its own thread until it asks for a likelihood, and once every fit has asked (or finished),
one call of the model's ``_negative_log_likelihoods`` answers all of them at once on arrays a
hundred times longer. Each fit sees exactly the values it would have seen alone, in the same
order (the batch evaluates each element by the same operations), so its result is the same to
the bit; only the overhead is shared.

The fits take turns: one runs at a time, from the answer to its request to its next request,
while the others wait on locks. Run all at once they would contend for the GIL, and a hundred
threads waiting for it force a switch every few microseconds.

A model takes part by checking :func:`current` in its ``_negative_log_likelihood`` and, when a
batch is running on the thread, asking it instead (see ``ParetoNBD``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

_local = threading.local()


def current() -> _Lockstep | None:
    """The batch the calling thread's fit belongs to, or None (a fit on its own)."""
    return getattr(_local, "lockstep", None)


def takes_part(model: Any) -> bool:
    """Whether ``model``'s fits evaluate their likelihoods together when run together (for the
    others, threads would only take turns)."""
    return hasattr(type(model), "_negative_log_likelihoods")


@dataclass
class _Request:
    model: Any
    arguments: tuple
    # held until answered: a plain lock hands over between threads in about half the time of an
    # Event (one futex, not a condition and its lock), and a round has a hundred handovers
    answered: threading.Lock = field(default_factory=threading.Lock)
    released: bool = False
    value: Any = None
    error: BaseException | None = None

    def __post_init__(self) -> None:
        self.answered.acquire()

    def release(self) -> None:
        self.released = True
        self.answered.release()


class _Lockstep:
    """The meeting point of the fits' threads and the thread that evaluates their batches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # released when the fit whose turn it is asks again or ends, held otherwise
        self._arrived = threading.Lock()
        self._arrived.acquire()
        self._request: _Request | None = None  # what it asked (None: it ended)
        self._abandoned: BaseException | None = None

    # -- a fit's thread ------------------------------------------------------------------------
    def negative_log_likelihood(self, model: Any, *arguments: Any) -> Any:
        """Ask for an evaluation and wait for the batch that includes it."""
        request = _Request(model, arguments)
        with self._lock:
            if self._abandoned is not None:  # nobody answers any more
                raise self._abandoned
            self._arrive(request)
        request.answered.acquire()
        if request.error is not None:
            raise request.error
        return request.value

    def finished(self) -> None:
        """The fit's thread ends (its task returned or raised)."""
        with self._lock:
            if self._abandoned is None:  # else nobody waits for it
                self._arrive(None)

    def _arrive(self, request: _Request | None) -> None:
        self._request = request
        self._arrived.release()

    # -- the serving thread --------------------------------------------------------------------
    def turn(self, release: Callable[[], None]) -> _Request | None:
        """Let one fit run (``release`` starts or answers it) until it asks again or ends;
        return what it asks (None once it has ended)."""
        release()
        self._arrived.acquire()
        return self._request

    def abandon(self, error: BaseException, waiting: Sequence[_Request]) -> None:
        """Stop serving: the ``waiting`` requests, and any asked from now on, get ``error``, so
        that the fits' threads end."""
        with self._lock:
            self._abandoned = error
            requests = [*waiting, *([self._request] if self._request is not None else [])]
        for request in requests:
            if not request.released:
                request.error = error
                request.release()


def _answer(requests: list[_Request]) -> None:
    """Evaluate the requests (without releasing them), a batch per model class; a batch that
    raises is evaluated one request at a time, so that the error reaches only the fit that
    caused it."""
    by_class: dict[type, list[_Request]] = {}
    for request in requests:
        by_class.setdefault(type(request.model), []).append(request)
    for kind, batch in by_class.items():
        try:
            values = kind._negative_log_likelihoods([(r.model, *r.arguments) for r in batch])
        except Exception:
            values = None
        for index, request in enumerate(batch):
            if values is not None:
                request.value = values[index]
                continue
            try:
                request.value = kind._negative_log_likelihoods(
                    [(request.model, *request.arguments)]
                )[0]
            except Exception as error:
                request.error = error


def run_together(tasks: Sequence[Callable[[], Any]]) -> list[Any]:
    """Run ``tasks`` (each fits models and returns a result) side by side; their results in order.

    The likelihoods of models that take part are evaluated in batches by the calling thread
    (see the module docstring). An exception raised by a task is raised here once every task
    has ended (the first in task order).
    """
    if len(tasks) <= 1:
        return [task() for task in tasks]
    lockstep = _Lockstep()
    results: list[Any] = [None] * len(tasks)
    errors: list[BaseException | None] = [None] * len(tasks)

    def run(index: int) -> None:
        _local.lockstep = lockstep
        try:
            results[index] = tasks[index]()
        except BaseException as error:  # re-raised by the caller's thread
            errors[index] = error
        finally:
            _local.lockstep = None
            lockstep.finished()

    started: list[threading.Thread] = []
    waiting: list[_Request] = []  # the requests of the next batch
    answered: list[_Request] = []  # the last batch's, released one at a time
    try:
        for index in range(len(tasks)):
            thread = threading.Thread(
                target=run, args=(index,), name=f"valuecast-fit_{index}", daemon=True
            )
            started.append(thread)
            request = lockstep.turn(thread.start)  # runs to its first request
            if request is not None:
                waiting.append(request)
        while waiting:
            _answer(waiting)
            answered, waiting = waiting, []
            for request in answered:
                following = lockstep.turn(request.release)
                if following is not None:
                    waiting.append(following)
    except BaseException as error:
        lockstep.abandon(error, [*answered, *waiting])
        raise
    finally:
        for thread in started:
            thread.join()
    for error in errors:
        if error is not None:
            raise error
    return results
