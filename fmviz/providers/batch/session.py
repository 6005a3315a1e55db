"""One batched map's state: the requests waiting for a job, the jobs, what became of each request.

:meth:`BatchSession.answer` is the runner's ``intercept`` hook during a round: a cached
answer is returned, a request with none is noted and its item deferred. Noted requests are
submitted as soon as they fill a job (``max_requests`` / ``max_bytes``), so a round over
10,000 episodes holds at most one job's requests in memory and uploads while frames are
still being decoded; :meth:`BatchSession.flush` submits the rest after the round, attaches
to jobs an interrupted run submitted for the same requests, polls every job with backoff and
stores each answer in the call cache (and the ledger, at batch rates).
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tqdm.auto import tqdm

from fmviz.providers.base import AuthError, LLMRequest, LLMResponse, ProviderError, QuotaError, TransientError
from fmviz.providers.batch.backend import BatchBackend, JobStatus, LineError
from fmviz.providers.batch.gemini_batch import approx_bytes
from fmviz.providers.batch.store import JobStore, StoredJob
from fmviz.providers.limits import BudgetExceeded

if TYPE_CHECKING:
    from fmviz.providers.batch.options import BatchOptions
    from fmviz.providers.runner import LLM

__all__ = ["BatchSession", "BatchStillRunning", "Deferred"]


class Deferred(Exception):
    """An item's request waits for a batch job; the item runs again after the job."""


class BatchStillRunning(ProviderError):
    """Jobs outlasted ``max_wait``; their ids are kept, so rerunning the command resumes them."""


class BatchSession:
    """One batched map: the requests waiting for a job, the jobs, and what became of each request."""

    def __init__(self, llm: LLM, options: BatchOptions, backend: BatchBackend) -> None:
        assert llm.cache is not None
        self.llm = llm
        self.cache = llm.cache
        self.options = options
        self.backend = backend
        self.store = JobStore(self.cache.path)
        self.endpoint = llm.endpoint
        self.pending: dict[str, LLMRequest] = {}
        self.pending_bytes = 0
        #: Jobs of this round (submitted, or resumed from the store), and the keys they carry.
        self.jobs: list[StoredJob] = []
        self.in_flight: set[str] = set()
        self.submissions: collections.Counter[str] = collections.Counter()
        #: Keys answered by this session's jobs (paid, on the ledger) or replayed once already.
        self.seen: set[str] = set()
        self.lock = threading.Lock()
        self._submitting = threading.Lock()
        self._early_failed = False

    # -- the runner's hook -------------------------------------------------------------

    def answer(self, request: LLMRequest) -> LLMResponse | None:
        """The cached answer; None to ask online; :class:`Deferred` to wait for a batch."""
        if request.stage not in self.options.stages:
            return None
        key = self.llm.cache_key(request)
        hit = self.cache.get(key, failed=self.llm.replay_failed)
        if hit is not None:
            with self.lock:
                first = key not in self.seen
                self.seen.add(key)
            if first:  # answered before this run: one cached row, as an online replay records
                self._record(request.stage, request.episode_id, hit, cached=True, seconds=0.0)
            return hit
        with self.lock:
            if key in self.in_flight or key in self.pending:
                raise Deferred(key)  # an identical request waits already
            submitted = self.submissions[key]
            reask_online = bool(request.history) and self.options.reasks == "online"
            exhausted = submitted >= self.options.max_submissions or self.options.missing == "online"
            if reask_online or (submitted > 0 and exhausted):
                return None
            self.pending[key] = request
            self.pending_bytes += approx_bytes(request)
            full = (
                len(self.pending) >= self.options.max_requests or self.pending_bytes >= self.options.max_bytes
            )
        if full and not self._early_failed:
            self._submit_pending(early=True)
        raise Deferred(key)

    # -- submit, wait, collect ----------------------------------------------------------

    def flush(self) -> None:
        """Submit what waits, then poll this round's jobs until they end and collect them."""
        self._early_failed = False
        self._submit_pending()
        with self.lock:
            jobs, self.jobs = self.jobs, []
        try:
            self._wait(jobs)
        finally:
            with self.lock:
                self.in_flight.clear()

    def _submit_pending(self, *, early: bool = False) -> None:
        """Send the waiting requests as jobs; an early (mid-round) failure is retried by :meth:`flush`."""
        with self._submitting:
            with self.lock:
                pending, self.pending, self.pending_bytes = self.pending, {}, 0
            if not pending:
                return
            try:
                self._submit(pending)
            except (BudgetExceeded, ProviderError):
                if not early:
                    raise
                with self.lock:  # back in the queue: flush() submits them (and raises) after the round
                    self.pending = pending | self.pending
                    self.pending_bytes = sum(approx_bytes(r) for r in self.pending.values())
                self._early_failed = True

    def _submit(self, pending: dict[str, LLMRequest]) -> None:
        """Attach to stored jobs that carry these requests; submit the others in chunks."""
        with self.lock:
            attached = {job.job_id for job in self.jobs}
        stored = [job for job in self.store.open_jobs(self.endpoint) if set(job.keys) & set(pending)]
        resumed = [job for job in stored if job.job_id not in attached]
        covered = {key for job in stored for key in job.keys}
        new = [(key, request) for key, request in pending.items() if key not in covered]
        if resumed:
            tqdm.write(f"fmviz: resuming {len(resumed)} batch job(s): {', '.join(j.job_id for j in resumed)}")
        self._check_budget([request for _, request in new])
        submitted = list(resumed)
        for chunk in self._chunks(new):
            label = f"fmviz-{chunk[0][1].stage}-{len(chunk)}"
            job_id = self._retry(lambda chunk=chunk, label=label: self.backend.submit(chunk, label))
            meta = {key: (request.stage, request.episode_id) for key, request in chunk}
            self.store.add(job_id, self.endpoint, meta)
            submitted.append(StoredJob(job_id, self.endpoint, "submitted", meta))
        with self.lock:
            self.jobs.extend(submitted)
            self.in_flight.update(key for job in submitted for key in job.keys)
            for key in pending:
                self.submissions[key] += 1

    def _chunks(self, entries: list[tuple[str, LLMRequest]]) -> list[list[tuple[str, LLMRequest]]]:
        chunks: list[list[tuple[str, LLMRequest]]] = []
        size = 0
        for entry in entries:
            weight = approx_bytes(entry[1])
            if (
                not chunks
                or len(chunks[-1]) >= self.options.max_requests
                or size + weight > self.options.max_bytes
            ):
                chunks.append([])
                size = 0
            chunks[-1].append(entry)
            size += weight
        return chunks

    def _check_budget(self, requests: list[LLMRequest]) -> None:
        limit = self.llm.budget_usd
        if limit is None or not requests:
            return
        from fmviz.providers.ledger import estimate_request

        estimate = sum(
            estimate_request(
                r, self.llm.provider, self.llm.prices, r.max_output_tokens or 1000
            ).batch_cost_usd
            for r in requests
        )
        spent = self.llm.ledger.total_cost
        if spent + estimate > limit:
            raise BudgetExceeded(spent, estimate, limit)

    def _wait(self, jobs: list[StoredJob]) -> None:
        """Poll every job with backoff until it ends (or ``max_wait`` passes), collecting each."""
        options = self.options
        started = time.monotonic()
        delay = options.poll_initial
        open_jobs = list(jobs)
        total = sum(len(job.keys) for job in jobs)
        with tqdm(total=total, desc="batch jobs", leave=False, dynamic_ncols=True) as bar:
            while open_jobs:
                for job in list(open_jobs):
                    status = self._poll(job)
                    if status.done:
                        self._collect(job, status, time.monotonic() - started)
                        open_jobs.remove(job)
                        bar.update(len(job.keys))
                bar.set_postfix(open=len(open_jobs), refresh=False)
                if not open_jobs:
                    break
                waited = time.monotonic() - started
                if options.max_wait is not None and waited + delay > options.max_wait:
                    ids = ", ".join(job.job_id for job in open_jobs)
                    raise BatchStillRunning(
                        f"{self.llm.spec}: batch job(s) {ids} still running after {waited:.0f} s "
                        f"(max_wait={options.max_wait:g}); their ids are kept in {self.cache.path}: "
                        "rerun the same command to resume them without resubmitting"
                    )
                time.sleep(delay)
                delay = min(options.poll_max, delay * options.poll_multiplier)

    def _poll(self, job: StoredJob) -> JobStatus:
        """The job's state; a job the provider no longer knows (deleted, 404) counts as failed."""
        try:
            return self._retry(lambda: self.backend.poll(job.job_id))
        except (AuthError, QuotaError, TransientError):
            raise
        except ProviderError as exc:
            return JobStatus("failed", detail=f"the job is unavailable: {exc}")

    def _collect(self, job: StoredJob, status: JobStatus, seconds: float) -> None:
        """Cache and record a finished job's answers; note why the others got none."""
        answers: dict[str, LLMResponse] = {}
        errors: dict[str, LineError] = {}
        if status.state != "failed":
            answers, errors = self._retry(lambda: self.backend.collect(status, job.keys))
        per_call = seconds / max(1, len(job.keys))
        for key, response in answers.items():
            stage, episode_id = job.requests.get(key, ("default", None))
            self.cache.put(key, response, self.llm.spec, stage)
            with self.lock:
                self.seen.add(key)
            self._record(stage, episode_id, response, cached=False, seconds=per_call, batch=True)
        for key, error in errors.items():
            if error.permanent:  # a rejected request: online, where its error reaches the item
                with self.lock:
                    self.submissions[key] = max(self.submissions[key], self.options.max_submissions)
        missing = len(job.keys) - len(answers)
        if missing:
            reason = status.detail or status.state
            tqdm.write(
                f"fmviz: batch {job.job_id} {status.state}: {len(answers)} answered, {missing} without an "
                f"answer ({reason}); those go {self._next_step()}"
            )
        self.store.finish(job.job_id, status.state)

    def _next_step(self) -> str:
        if self.options.missing == "online" or self.options.max_submissions <= 1:
            return "online"
        return f"into the next batch (at most {self.options.max_submissions} batches, then online)"

    def _record(
        self,
        stage: str,
        episode_id: str | None,
        response: LLMResponse,
        *,
        cached: bool,
        seconds: float,
        batch: bool = False,
    ) -> None:
        self.llm.ledger.record(
            stage,
            self.llm.provider.name,
            response.model or self.llm.provider.model,
            input_tokens=response.input_tokens,
            output_tokens=response.output_tokens,
            cached=cached,
            seconds=seconds,
            episode_id=episode_id,
            batch=batch,
        )

    def _retry(self, call: Callable[[], Any]) -> Any:
        """One batch-API call, retried with backoff on 5xx, timeouts and 429s."""
        for attempt in range(self.llm.max_retries + 1):
            try:
                return call()
            except TransientError:
                if attempt == self.llm.max_retries:
                    raise
                self.llm.breaker.wait(min(self.llm.backoff_max, self.llm.backoff_base * 2.0**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self.store.close()
