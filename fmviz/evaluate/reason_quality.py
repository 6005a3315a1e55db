"""Reason quality: how close inferred failure reasons are to reference (expert) reasons.

The paper's Table I scores stage 1 two ways: the mean cosine similarity (CS) of the inferred and
the expert reason under a sentence-embedding model, and an LLM judge's share of matches (LLM%).
It also notes why both are needed: a reason can sit close in embedding space and still name a
different cause. ROUGE-L (longest common subsequence F-measure, Google's ``rouge-score`` package
with stemming) is added as the lexical view. Each metric is per episode first, so a reader can
open the pairs behind a low score; :func:`summarize_reason_quality` gives the Table I row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from fmviz.evaluate.judge import ReasonVerdict, ask_each
from fmviz.results import Reasons

if TYPE_CHECKING:
    from fmviz import LLM
    from fmviz.offline.embeddings import Embedder

__all__ = ["REASON_COLUMNS", "reason_quality", "rouge_l", "summarize_reason_quality"]

#: Columns of :func:`reason_quality`.
REASON_COLUMNS = (
    "episode_id",
    "reference",
    "candidate",
    "cosine",
    "rouge_l",
    "judge_verdict",
    "judge_rationale",
    "judge_error",
)


def rouge_l(references: list[str], candidates: list[str]) -> list[float]:
    """ROUGE-L F-measure per pair (``rouge-score``, Porter stemming).

    Examples
    --------
    >>> rouge_l(["the robot dropped the pot"], ["the robot dropped the pot"])
    [1.0]
    """
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    return [float(scorer.score(r, c)["rougeL"].fmeasure) for r, c in zip(references, candidates, strict=True)]


def reason_quality(
    reasons: Reasons,
    references: Mapping[str, str | None],
    *,
    embedder: Embedder | None = None,
    llm: LLM | None = None,
) -> pd.DataFrame:
    """Score each inferred reason against its reference: cosine, ROUGE-L and an optional LLM judge.

    Parameters
    ----------
    reasons:
        Stage-1 output; each reason's ``failure_reason`` is the candidate.
    references:
        ``{episode id: reference reason}`` (e.g. REFLECT's expert reasons); episodes without one
        are skipped.
    embedder:
        The configured embedding model (default: the bundled MiniLM).
    llm:
        A judge (:class:`fmviz.LLM`); one call per pair, cached. ``None`` leaves the judge
        columns empty.

    Returns
    -------
    pandas.DataFrame
        One row per pair, columns :data:`REASON_COLUMNS`.

    Examples
    --------
    >>> reason_quality(result.reasons, {e.id: e.expert_reason for e in dataset})  # doctest: +SKIP
    """
    from fmviz.offline.embeddings import Embedder

    rows = []
    for reason in reasons:
        reference = references.get(reason.episode_id)
        candidate = reason.failure_reason.strip()
        if reference and str(reference).strip() and candidate:
            rows.append(
                {"episode_id": reason.episode_id, "reference": str(reference).strip(), "candidate": candidate}
            )
    frame = pd.DataFrame(rows, columns=list(REASON_COLUMNS))
    if frame.empty:
        return frame
    embedder = embedder if embedder is not None else Embedder()
    a = embedder.embed(frame["reference"].tolist())
    b = embedder.embed(frame["candidate"].tolist())
    frame["cosine"] = np.sum(np.asarray(a) * np.asarray(b), axis=1).astype(float)
    frame["rouge_l"] = rouge_l(frame["reference"].tolist(), frame["candidate"].tolist())
    if llm is not None:
        items = {
            row.episode_id: {"reference": row.reference, "candidate": row.candidate}
            for row in frame.itertuples(index=False)
        }
        judged = ask_each(llm, items, template="judge_reason", schema=ReasonVerdict, desc="judge reasons")
        verdicts = {k: v for k, v in judged.answers.items() if isinstance(v, ReasonVerdict)}
        frame["judge_verdict"] = frame["episode_id"].map(
            lambda k: verdicts[k].verdict if k in verdicts else None
        )
        frame["judge_rationale"] = frame["episode_id"].map(
            lambda k: verdicts[k].rationale if k in verdicts else None
        )
        frame["judge_error"] = frame["episode_id"].map(judged.errors)
    return frame


def summarize_reason_quality(frame: pd.DataFrame, *, method: str = "reasons") -> pd.DataFrame:
    """The Table I row: mean cosine (CS), mean ROUGE-L and the judge's match share (LLM%), in percent.

    ``llm_pct`` is over the pairs the judge answered (``judged``); NaN without a judge.

    Examples
    --------
    >>> summarize_reason_quality(reason_quality(reasons, refs))  # doctest: +SKIP
    """
    judged = frame["judge_verdict"].dropna() if "judge_verdict" in frame else pd.Series(dtype=object)
    row = {
        "method": method,
        "n": len(frame),
        "cs_pct": 100.0 * float(frame["cosine"].mean()) if len(frame) else float("nan"),
        "rouge_l_pct": 100.0 * float(frame["rouge_l"].mean()) if len(frame) else float("nan"),
        "llm_pct": 100.0 * float((judged == "match").mean()) if len(judged) else float("nan"),
        "judged": len(judged),
    }
    return pd.DataFrame([row])
