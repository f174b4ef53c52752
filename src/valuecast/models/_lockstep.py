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


@dataclass
class _Request:
    model: Any
    arguments: tuple
    answered: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    error: BaseException | None = None


class _Lockstep:
    """The meeting point of the fits' threads and the thread that evaluates their batches."""

    def __init__(self, running: int) -> None:
        self._lock = threading.Lock()
        self._running = running  # fits neither waiting for an answer nor finished
        self._requests: list[_Request] = []
        self._all_waiting = threading.Event()
        self._abandoned: BaseException | None = None
        self._answering: list[_Request] = []  # the batch being evaluated

    def negative_log_likelihood(self, model: Any, *arguments: Any) -> Any:
        """Called by a fit's thread: wait for the batch that includes this evaluation."""
        request = _Request(model, arguments)
        self._arrive(request)
        request.answered.wait()
        if request.error is not None:
            raise request.error
        return request.value

    def _arrive(self, request: _Request | None) -> None:
        with self._lock:
            if request is not None:
                if self._abandoned is not None:  # nobody serves batches any more
                    request.error = self._abandoned
                    request.answered.set()
                    return
                self._requests.append(request)
            self._running -= 1
            if self._running == 0:
                self._all_waiting.set()

    def finished(self) -> None:
        """Called by a fit's thread as it ends (returned or raised)."""
        self._arrive(None)

    def serve(self) -> None:
        """Answer batches until every fit has finished (in the thread that started them)."""
        while True:
            self._all_waiting.wait()
            with self._lock:
                self._all_waiting.clear()
                requests, self._requests = self._requests, []
                self._running += len(requests)
                self._answering = requests
            if not requests:
                return
            _answer(requests)

    def abandon(self, error: BaseException) -> None:
        """Stop serving (the serving thread failed): every waiting fit and every later request
        gets ``error``, so that the fits' threads end."""
        with self._lock:
            self._abandoned = error
            requests = [*self._answering, *self._requests]
            self._requests = []
        for request in requests:
            if not request.answered.is_set():
                request.error = error
                request.answered.set()


def _answer(requests: list[_Request]) -> None:
    """Evaluate the requests, a batch per model class; a batch that raises is evaluated one
    request at a time, so that the error reaches only the fit that caused it."""
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
            else:
                try:
                    request.value = kind._negative_log_likelihoods(
                        [(request.model, *request.arguments)]
                    )[0]
                except Exception as error:
                    request.error = error
            request.answered.set()


def takes_part(model: Any) -> bool:
    """Whether ``model``'s fits evaluate their likelihoods together when run together (for the
    others, threads would only take turns)."""
    return hasattr(type(model), "_negative_log_likelihoods")


def run_together(tasks: Sequence[Callable[[], Any]]) -> list[Any]:
    """Run ``tasks`` (each fits models and returns a result) side by side; their results in order.

    The likelihoods of models that take part are evaluated in batches by the calling thread
    (see the module docstring). An exception raised by a task is raised here once every task
    has ended (the first in task order).
    """
    if len(tasks) <= 1:
        return [task() for task in tasks]
    lockstep = _Lockstep(len(tasks))
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

    threads = [
        threading.Thread(target=run, args=(index,), name=f"valuecast-fit_{index}", daemon=True)
        for index in range(len(tasks))
    ]
    for thread in threads:
        thread.start()
    try:
        lockstep.serve()
    except BaseException as error:
        lockstep.abandon(error)
        raise
    finally:
        for thread in threads:
            thread.join()
    for error in errors:
        if error is not None:
            raise error
    return results
