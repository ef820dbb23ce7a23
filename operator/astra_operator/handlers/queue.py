"""One work queue for every object's passes, instead of a task per object.

The shape of controller-runtime's workqueue: each object (by uid) is either idle, due at some
time, or running; one dispatcher task starts the due passes, at most ``slots`` at once; a pass
never runs twice at the same time for one object (the single writer per object that makes
create crash-safe); a wake-up that arrives while the object's pass runs makes it run again as
soon as that pass ends. What a pass returns decides when it runs next: a delay, or ``None``
(not until the next wake-up).

Per object the queue keeps a uid, a due time and a heap entry, nothing of the object itself:
a task, a kopf daemon and a kept copy of the body per object cost about 30 KB each, 36 MiB
of peak RSS at 1,200 objects (benchmarks/README.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

_log = logging.getLogger(__name__)

Pass = Callable[[str], Awaitable[float | None]]
"""Runs one pass of the object with this uid; returns seconds until the next, or None."""


class WorkQueue:
    """Due passes by uid, at most ``slots`` running at once (see the module docstring)."""

    def __init__(self, run: Pass, *, slots: int, clock: Callable[[], float] = time.monotonic):
        self._run, self._slots, self._clock = run, slots, clock
        self._due: dict[str, float] = {}  # uid -> when its next pass is due (idle: absent)
        self._heap: list[tuple[float, int, str]] = []  # (due, seq, uid); stale entries skipped
        self._seq = itertools.count()
        self._running: dict[str, asyncio.Future[None]] = {}  # uid -> done when its pass ends
        self._again: set[str] = set()  # woken while running
        self._held: set[str] = set()  # no new pass may start (deletion runs)
        self._changed = asyncio.Event()
        self._dispatcher: asyncio.Task[None] | None = None
        self._passes: set[asyncio.Task[None]] = set()

    # -- what the handlers call ---------------------------------------------------------------

    def start(self) -> None:
        """Start dispatching (on the running loop; once). Its tasks copy the caller's context."""
        if self._dispatcher is None:
            self._dispatcher = asyncio.create_task(self._dispatch(), name="work-queue")

    def wake(self, uid: str) -> None:
        """Run a pass of ``uid`` as soon as a slot is free (again right after, if it runs)."""
        if uid in self._running:
            self._again.add(uid)
            return
        self._schedule(uid, 0.0)

    def forget(self, uid: str) -> None:
        """The object is gone: no further pass (one running ends on its own)."""
        self._due.pop(uid, None)
        self._again.discard(uid)
        self._held.discard(uid)

    @contextlib.asynccontextmanager
    async def held(self, uid: str) -> AsyncIterator[None]:
        """While inside, no pass of ``uid`` runs: entered once the running one (if any) ended.
        A pass that fell due meanwhile runs when the hold ends."""
        self._held.add(uid)
        try:
            running = self._running.get(uid)
            if running is not None:
                await asyncio.shield(running)
            yield
        finally:
            self._held.discard(uid)
            if uid in self._again:
                self._again.discard(uid)
                self._schedule(uid, 0.0)

    def waiting(self) -> int:
        """Passes due now that wait for a free slot (the backlog)."""
        now = self._clock()
        return sum(1 for due in self._due.values() if due <= now)

    def running(self) -> int:
        return len(self._running)

    async def close(self) -> None:
        """Stop dispatching; passes in flight are cancelled (every pass is safe to cut short)."""
        tasks = [*self._passes, *([self._dispatcher] if self._dispatcher else [])]
        self._dispatcher = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for done in self._running.values():  # passes cancelled before they started
            if not done.done():
                done.set_result(None)
        self._running.clear()

    # -- inside -------------------------------------------------------------------------------

    def _schedule(self, uid: str, delay: float) -> None:
        due = self._clock() + max(delay, 0.0)
        current = self._due.get(uid)
        if current is not None and current <= due:
            return  # already due as soon or sooner
        self._due[uid] = due
        heapq.heappush(self._heap, (due, next(self._seq), uid))
        self._changed.set()

    def _pop_due(self) -> str | float | None:
        """A uid due now (removed from the due set), else seconds until the next, else None."""
        while self._heap:
            due, _, uid = self._heap[0]
            if self._due.get(uid) != due:
                heapq.heappop(self._heap)  # stale: rescheduled since, or forgotten
                continue
            if uid in self._running or uid in self._held:
                heapq.heappop(self._heap)  # runs once that pass or the hold ends
                del self._due[uid]
                self._again.add(uid)
                continue
            wait = due - self._clock()
            if wait > 0:
                return wait
            heapq.heappop(self._heap)
            del self._due[uid]
            return uid
        return None

    async def _dispatch(self) -> None:
        """The one waiter: takes a free slot, then the next due uid, and starts its pass."""
        free = asyncio.Semaphore(self._slots)
        while True:
            await free.acquire()
            while not isinstance(got := self._pop_due(), str):
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=got)
            # running from now on, not from when the task starts: a wake-up in between must
            # not queue a second pass beside it
            self._running[got] = asyncio.get_running_loop().create_future()
            task = asyncio.create_task(self._one(got), name=f"pass {got}")
            self._passes.add(task)
            task.add_done_callback(self._passes.discard)
            task.add_done_callback(lambda _: free.release())

    async def _one(self, uid: str) -> None:
        delay: float | None = None
        try:
            delay = await self._run(uid)
        except Exception:  # the pass logs its own failures; the queue must survive anything
            _log.exception("a reconcile pass raised; it runs again in 60 s")
            delay = 60.0
        finally:
            self._running.pop(uid).set_result(None)
            again = uid in self._again
            self._again.discard(uid)
            if again:
                self._schedule(uid, 0.0)
            elif delay is not None:
                self._schedule(uid, delay)
