"""Micro-batching: concurrent requests share one forward pass, run off the event loop.

Own code because neither FastAPI nor uvicorn batches across requests, and the libraries that do
(Ray Serve, TorchServe, Triton) are whole serving stacks of their own. An encoder on a CPU
spends most of a one-tweet call on per-call overhead, so 32 tweets in one call cost little more
than one; gathering the tweets of concurrent requests is where a service's throughput comes from.

How a batch forms: requests queue up; the collector takes the oldest one and waits at most
``max_wait_ms`` (from that request's arrival) for more, or until ``max_batch_size`` texts are
queued. While the single worker thread runs a batch, new requests keep queueing, so under load
the next batch is ready the moment the worker is free. When the last batch held a single request
(one client at a time) nobody is coming to share, so a lone request is computed at once rather
than held for ``max_wait_ms``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from tweetsent.errors import ConfigError, TweetsentError

logger = logging.getLogger(__name__)


class Overloaded(TweetsentError):
    """More texts are waiting than the queue allows; the client should retry later."""


class Closed(TweetsentError):
    """The batcher is shutting down and takes no new work."""


@dataclass
class _Job:
    texts: list[str]
    future: asyncio.Future
    arrived: float


@dataclass
class BatchStats:
    """Counters for ``/health``: how well requests are being gathered."""

    requests: int = 0
    texts: int = 0
    batches: int = 0
    largest_batch: int = 0
    errors: int = 0

    def as_dict(self) -> dict[str, float]:
        mean = self.texts / self.batches if self.batches else 0.0
        return {
            "requests": self.requests,
            "texts": self.texts,
            "batches": self.batches,
            "largest_batch": self.largest_batch,
            "mean_batch": round(mean, 2),
            "errors": self.errors,
        }


@dataclass
class MicroBatcher:
    """Gathers the texts of concurrent ``await predict(texts)`` calls into bounded batches.

    ``predict_batch`` (e.g. ``TweetClassifier.predict_proba``) runs on one worker thread, so
    the event loop stays free to accept and answer requests while the model computes.

    >>> batcher = MicroBatcher(classifier.predict_proba, max_batch_size=32)  # doctest: +SKIP
    >>> await batcher.start(); proba = await batcher.predict(["so happy today"])  # doctest: +SKIP
    """

    predict_batch: Callable[[list[str]], np.ndarray]
    max_batch_size: int = 64
    max_wait_ms: float = 5.0
    max_queue: int = 2048
    stats: BatchStats = field(default_factory=BatchStats)

    def __post_init__(self) -> None:
        if self.max_batch_size < 1:
            raise ConfigError(f"max_batch_size must be at least 1, got {self.max_batch_size}")
        if self.max_wait_ms < 0:
            raise ConfigError(f"max_wait_ms must be >= 0, got {self.max_wait_ms}")
        if self.max_queue < 1:
            raise ConfigError(f"max_queue must be at least 1, got {self.max_queue}")
        self._pending: deque[_Job] = deque()
        self._queued = 0  # texts waiting, not counting the batch being computed
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._closing = False
        self._last_batch_requests = 0  # 0 before the first batch: wait, as under load

    @property
    def queued(self) -> int:
        return self._queued

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start the collector on the running event loop."""
        if self.running:
            return
        self._closing = False
        self._wakeup = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tweetsent-model")
        self._task = asyncio.get_running_loop().create_task(self._collect(), name="micro-batcher")

    async def close(self) -> None:
        """Take no new work, finish every queued request, then stop the worker."""
        self._closing = True
        if self._wakeup is not None:
            self._wakeup.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def predict(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities for ``texts`` (one row each), computed in a shared batch."""
        if self._closing or not self.running:
            raise Closed("the service is shutting down")
        texts = list(texts)
        if self._queued + len(texts) > self.max_queue:
            raise Overloaded(
                f"too many texts waiting ({self._queued} queued, limit {self.max_queue}); "
                "retry shortly"
            )
        future = asyncio.get_running_loop().create_future()
        self._pending.append(_Job(texts, future, asyncio.get_running_loop().time()))
        self._queued += len(texts)
        self._wakeup.set()
        return await future

    def submit(self, fn: Callable, *args) -> Future:
        """Run ``fn(*args)`` on the model thread, after the batches already handed to it.

        For work that calls the model from another thread (a file being labelled): its calls
        then take turns with the batches of requests instead of running beside them. Safe to
        call from any thread.
        """
        executor = self._executor
        if self._closing or executor is None:
            raise Closed("the service is shutting down")
        try:
            return executor.submit(fn, *args)
        except RuntimeError:  # shut down between the check and the submit
            raise Closed("the service is shutting down") from None

    async def _collect(self) -> None:
        loop = asyncio.get_running_loop()
        max_wait = self.max_wait_ms / 1000
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            deadline = self._pending[0].arrived + max_wait
            if self._last_batch_requests == 1 and len(self._pending) == 1:
                deadline = 0.0  # sequential traffic: waiting would only add latency
            while self._queued < self.max_batch_size and not self._closing:
                timeout = deadline - loop.time()
                if timeout <= 0:
                    break
                self._wakeup.clear()
                try:
                    await asyncio.wait_for(self._wakeup.wait(), timeout)
                except asyncio.TimeoutError:
                    break
            jobs = self._take_batch()
            if jobs:
                await self._run(loop, jobs)

    def _take_batch(self) -> list[_Job]:
        """Whole requests, oldest first, up to ``max_batch_size`` texts (at least one request)."""
        jobs: list[_Job] = []
        size = 0
        while self._pending:
            job = self._pending[0]
            if jobs and size + len(job.texts) > self.max_batch_size:
                break
            self._pending.popleft()
            self._queued -= len(job.texts)
            if job.future.done():  # the client went away: don't compute for nobody
                continue
            jobs.append(job)
            size += len(job.texts)
        return jobs

    async def _run(self, loop: asyncio.AbstractEventLoop, jobs: list[_Job]) -> None:
        self._last_batch_requests = len(jobs)
        texts = [text for job in jobs for text in job.texts]
        try:
            proba = await loop.run_in_executor(self._executor, self.predict_batch, texts)
        except Exception as exc:  # every request of the batch learns of the failure
            logger.exception("prediction failed for a batch of %d texts", len(texts))
            self.stats.errors += len(jobs)
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(exc)
            return
        self.stats.batches += 1
        self.stats.requests += len(jobs)
        self.stats.texts += len(texts)
        self.stats.largest_batch = max(self.stats.largest_batch, len(texts))
        start = 0
        for job in jobs:
            end = start + len(job.texts)
            if not job.future.done():
                job.future.set_result(proba[start:end])
            start = end
