"""Stage 1 and stage 3 through the providers' batch APIs: half the price, answers within a day.

``LLM(provider, batch=True)`` (or ``--batch`` on the command line) sends the requests of the
stages named in :class:`BatchOptions` as batch jobs instead of one call at a time: OpenAI's
Batch API (:mod:`~fmviz.providers.batch.openai_batch`) and Gemini's batch mode
(:mod:`~fmviz.providers.batch.gemini_batch`), through the official clients. The stage code
does not change: :mod:`~fmviz.providers.batch.core` runs it in rounds, collecting the
requests it would send, submitting them as jobs, polling with backoff and storing every
answer in the call cache, so validation, repair re-asks, the ledger and later online reruns
behave exactly as for online calls. Submitted jobs are kept in the cache file
(:mod:`~fmviz.providers.batch.store`), so an interrupted run resumes them by id.
"""

from __future__ import annotations

from fmviz.providers.batch.options import BatchOptions, resolve_batch

__all__ = ["BatchOptions", "resolve_batch"]
