"""What each provider's batch API must offer the submit/poll/collect loop."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from fmviz.providers.base import LLMRequest, LLMResponse

__all__ = ["TERMINAL", "BatchBackend", "JobStatus", "LineError"]

#: Job states after which a job changes no more (``running`` is the only other state).
TERMINAL = ("completed", "failed", "expired", "cancelled")


@dataclass(frozen=True)
class LineError:
    """Why one request of a job got no answer: an HTTP status (0: never ran) and a message."""

    status: int
    message: str

    @property
    def permanent(self) -> bool:
        """A rejected request (4xx other than 408/409/429): resubmitting it would not help."""
        return 400 <= self.status < 500 and self.status not in (408, 409, 429)


@dataclass
class JobStatus:
    """One poll of a job, in words common to both providers."""

    state: str
    total: int = 0
    completed: int = 0
    failed: int = 0
    #: The provider's own reason for a failed job.
    detail: str = ""
    #: The provider's job object (what :meth:`BatchBackend.collect` reads results from).
    raw: Any = field(default=None, repr=False)

    @property
    def done(self) -> bool:
        return self.state in TERMINAL


class BatchBackend(Protocol):
    """Submit, poll, collect and cancel batch jobs of one provider."""

    def submit(self, entries: list[tuple[str, LLMRequest]], label: str) -> str:
        """Create a job answering ``(key, request)`` pairs; returns the job id."""
        ...

    def poll(self, job_id: str) -> JobStatus:
        """The job's state now."""
        ...

    def collect(
        self, status: JobStatus, keys: list[str]
    ) -> tuple[dict[str, LLMResponse], dict[str, LineError]]:
        """Answers and per-request errors of a finished job, by key (``keys``: submission order)."""
        ...

    def cancel(self, job_id: str) -> None:
        """Ask the provider to stop the job."""
        ...
