"""The work queue (handlers/queue.py): one pass per object at a time, at most `slots` at once,
a wake-up during a pass runs it again right after, the delay a pass returns is kept, a held
object (deletion running) gets no pass until the hold ends."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable

from astra_operator.handlers.queue import Pass, WorkQueue


class Passes:
    """Records each pass; each takes `length` seconds and asks for `delay` (per uid)."""

    def __init__(self, length: float = 0.0) -> None:
        self.length = length
        self.started: list[str] = []
        self.running: Counter[str] = Counter()
        self.most_at_once = 0
        self.twice_at_once: list[str] = []
        self.delay: dict[str, float | None] = {}
        self.release: dict[str, asyncio.Event] = {}

    async def __call__(self, uid: str) -> float | None:
        self.started.append(uid)
        if self.running[uid]:
            self.twice_at_once.append(uid)
        self.running[uid] += 1
        self.most_at_once = max(self.most_at_once, sum(self.running.values()))
        try:
            if uid in self.release:
                await self.release[uid].wait()
            else:
                await asyncio.sleep(self.length)
        finally:
            self.running[uid] -= 1
        return self.delay.get(uid)


@contextlib.asynccontextmanager
async def started(run: Pass, slots: int) -> AsyncIterator[WorkQueue]:
    """A started queue, closed on the way out."""
    queue = WorkQueue(run, slots=slots)
    queue.start()
    try:
        yield queue
    finally:
        await queue.close()


async def until(check: Callable[[], bool], within: float = 5.0) -> None:
    """Poll ``check`` (state the queue's tasks change) until it holds, failing after ``within``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def test_every_woken_object_gets_one_pass_and_at_most_slots_run_at_once() -> None:
    passes = Passes(length=0.02)
    async with started(passes, 4) as queue:
        for i in range(40):
            queue.wake(f"u{i}")
        await until(lambda: len(passes.started) == 40 and queue.running() == 0)
        assert sorted(passes.started) == sorted(f"u{i}" for i in range(40))
        assert passes.most_at_once == 4
        await asyncio.sleep(0.1)
        assert len(passes.started) == 40  # None returned: not again until woken


async def test_a_wake_during_a_pass_runs_it_again_after_it_never_beside_it() -> None:
    passes = Passes()
    passes.release["a"] = asyncio.Event()
    async with started(passes, 4) as queue:
        queue.wake("a")
        await until(lambda: passes.started == ["a"])
        queue.wake("a")
        queue.wake("a")
        await asyncio.sleep(0.05)
        assert passes.started == ["a"]  # not beside the running one
        passes.release["a"].set()
        await until(lambda: passes.started == ["a", "a"] and queue.running() == 0)
        await asyncio.sleep(0.05)
        assert passes.started == ["a", "a"]  # two wake-ups while running: one more pass
        assert passes.twice_at_once == []


async def test_the_delay_a_pass_returns_decides_when_the_next_runs() -> None:
    passes = Passes()
    passes.delay["a"] = 0.2
    async with started(passes, 2) as queue:
        queue.wake("a")
        await until(lambda: len(passes.started) == 1)
        await asyncio.sleep(0.1)
        assert len(passes.started) == 1
        await until(lambda: len(passes.started) == 2, within=1.0)
        queue.wake("a")  # a wake-up brings the next pass forward
        await until(lambda: len(passes.started) == 3, within=0.15)


async def test_a_forgotten_object_gets_no_further_pass() -> None:
    passes = Passes()
    passes.delay["a"] = 0.05
    async with started(passes, 2) as queue:
        queue.wake("a")
        await until(lambda: len(passes.started) == 1)
        queue.forget("a")
        await asyncio.sleep(0.2)
        assert passes.started == ["a"]
        assert queue.waiting() == 0


async def test_held_waits_for_the_running_pass_and_defers_new_ones_until_released() -> None:
    passes = Passes()
    passes.release["a"] = asyncio.Event()
    async with started(passes, 2) as queue:
        queue.wake("a")
        await until(lambda: passes.started == ["a"])
        entered = asyncio.Event()
        leave = asyncio.Event()

        async def deletion() -> None:
            async with queue.held("a"):
                entered.set()
                assert passes.running["a"] == 0
                await leave.wait()

        task = asyncio.create_task(deletion())
        await asyncio.sleep(0.05)
        assert not entered.is_set()  # the pass still runs
        passes.release["a"].set()
        await until(entered.is_set)
        queue.wake("a")
        await asyncio.sleep(0.05)
        assert passes.started == ["a"]  # held: no pass
        leave.set()
        await task
        await until(lambda: passes.started == ["a", "a"])  # the deferred wake-up runs now


async def test_a_pass_that_raises_does_not_stop_the_queue() -> None:
    calls: list[str] = []

    async def run(uid: str) -> float | None:
        calls.append(uid)
        if uid == "bad":
            raise RuntimeError("boom")
        return None

    async with started(run, 1) as queue:
        queue.wake("bad")
        queue.wake("good")
        await until(lambda: "good" in calls)
        assert queue.waiting() == 0  # "bad" is due again later, not now


async def test_waiting_counts_the_backlog_of_due_passes() -> None:
    passes = Passes()
    passes.release["a"] = asyncio.Event()
    async with started(passes, 1) as queue:
        for uid in ("a", "b", "c"):
            queue.wake(uid)
        await until(lambda: passes.started == ["a"])
        assert queue.waiting() == 2
        passes.release["a"].set()
        await until(lambda: queue.waiting() == 0 and queue.running() == 0)
        assert sorted(passes.started) == ["a", "b", "c"]
