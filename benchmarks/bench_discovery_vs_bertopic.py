"""Benchmark: offline failure-mode discovery + assignment vs BERTopic, same texts, same embeddings.

Builds 10,000 failure reasons by replicating and perturbing the sample narratives (synthetic
navigation logs with known causes; the real NHTSA driving sample if those are missing): seeded
sentence shuffles, sentence and word dropout, synonym swaps and jittered numbers. Both methods
get the same stage-1 texts (cleaned by :class:`fmviz.offline.TextCleaner`) and the same
precomputed embeddings (all-MiniLM-L6-v2, embedded once and cached on disk), so the timing
compares discovery + assignment only:

- ours: :class:`fmviz.offline.discovery.Discovery` with its defaults, then
  :func:`fmviz.offline.assign.assign_nearest` (keyphrase embeddings are computed inside the timed
  part, with the disk cache off);
- BERTopic with default settings, ``BERTopic(embedding_model=<the same model>)`` and
  ``fit_transform(docs, embeddings)``.

Each is scored by NMI of its final labels (outliers included as a label) against the known
causes. An ablation (ours on embeddings only, without the TF-IDF word features) is printed
too. Run from the project root::

    python benchmarks/bench_discovery_vs_bertopic.py [--n 10000] [--seed 0]

The first run embeds the 10,000 texts (about 13 minutes on 2 CPU cores); later runs read the cache
(``$FMVIZ_CACHE_DIR`` or ``~/.cache/fmviz``). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fmviz.evaluate.metrics import cluster_agreement  # noqa: E402
from fmviz.offline.assign import assign_nearest  # noqa: E402
from fmviz.offline.cleaning import TextCleaner  # noqa: E402
from fmviz.offline.discovery import Discovery  # noqa: E402
from fmviz.offline.embeddings import Embedder  # noqa: E402
from fmviz.results import Reason, Reasons  # noqa: E402

SOURCES = (
    ROOT / "sample_data" / "navigation" / "manifest.csv",
    ROOT / "sample_data" / "driving" / "manifest.csv",
)

#: Word-level substitutions applied at random (both directions) to perturb copies.
SYNONYMS = {
    "robot": "unit",
    "struck": "hit",
    "contact": "impact",
    "obstacle": "object",
    "corridor": "hallway",
    "detected": "seen",
    "vehicle": "car",
    "front": "nose",
    "camera": "imager",
    "speed": "velocity",
    "before": "prior to",
    "reported": "logged",
    "travelling": "moving",
    "traveling": "moving",
    "stopped": "halted",
    "turning": "steering",
}
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def load_base() -> tuple[list[str], list[str], str]:
    """Narratives and labels of the first sample dataset that exists."""
    for path in SOURCES:
        if path.exists():
            frame = pd.read_csv(path)
            frame = frame[frame["narrative"].notna() & frame["label"].notna()]
            return frame["narrative"].astype(str).tolist(), frame["label"].astype(str).tolist(), str(path)
    raise SystemExit("no sample data: run `python scripts/build_sample_data.py` first")


def _jitter(match: re.Match[str], rng: random.Random) -> str:
    text = match.group()
    value = float(text) * rng.uniform(0.8, 1.2)
    decimals = len(text.split(".")[1]) if "." in text else 0
    return f"{value:.{decimals}f}"


def perturb(text: str, rng: random.Random) -> str:
    """One seeded variant: shuffled/dropped sentences, dropped/swapped words, jittered numbers."""
    sentences = [s for s in _SENTENCE.split(text.strip()) if s]
    if len(sentences) > 2:
        kept = [s for s in sentences if rng.random() > 0.1]
        sentences = kept if len(kept) >= 2 else sentences
    if rng.random() < 0.5:
        rng.shuffle(sentences)
    words = []
    for word in " ".join(sentences).split():
        if rng.random() < 0.08:
            continue
        key = word.lower().strip(".,;:")
        if key in SYNONYMS and rng.random() < 0.5:
            word = word.replace(key, SYNONYMS[key]) if word.islower() else SYNONYMS[key].capitalize()
        words.append(word)
    return _NUMBER.sub(lambda m: _jitter(m, rng), " ".join(words))


def build_corpus(n: int, seed: int) -> tuple[list[str], list[str], str]:
    """``n`` perturbed copies of the base narratives (round-robin), their labels and the source."""
    base, labels, source = load_base()
    rng = random.Random(seed)
    texts, truth = [], []
    for i in range(n):
        j = i % len(base)
        texts.append(perturb(base[j], rng))
        truth.append(labels[j])
    return texts, truth, source


def run_ours(
    texts: list[str], ids: list[str], x: np.ndarray, seed: int, **options: object
) -> tuple[dict[str, str], float, int]:
    embedder = Embedder(cache_dir=False, show_progress=False)  # keyphrase embeddings are paid for here
    start = time.perf_counter()
    clusters = Discovery(embedder, seed=seed, **options).fit(texts, ids, embeddings=x).clusters
    reasons = Reasons(Reason(i, "", t) for i, t in zip(ids, texts, strict=True))
    assignments = assign_nearest(reasons, clusters, embedder=embedder, embeddings=x)
    seconds = time.perf_counter() - start
    return assignments.labels(), seconds, len(clusters)


def run_bertopic(
    texts: list[str], ids: list[str], x: np.ndarray, model: object
) -> tuple[dict[str, str], float, int]:
    from bertopic import BERTopic

    start = time.perf_counter()
    topics, _ = BERTopic(embedding_model=model).fit_transform(texts, embeddings=x)
    seconds = time.perf_counter() - start
    labels = {i: str(t) for i, t in zip(ids, topics, strict=True)}
    return labels, seconds, len({t for t in topics if t != -1})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="number of reasons (default 10,000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    texts, truth, source = build_corpus(args.n, args.seed)
    texts = TextCleaner().fit_transform(texts)  # stage 1 as the offline engine runs it, for both
    ids = [f"r{i:05d}" for i in range(len(texts))]
    truth_by_id = dict(zip(ids, truth, strict=True))
    print(f"{len(texts)} reasons from {source} ({len(set(truth))} known causes)", flush=True)

    embedder = Embedder()  # cached on disk: the first run embeds, later runs read
    start = time.perf_counter()
    x = embedder.embed(texts)
    print(
        f"embeddings {x.shape} in {time.perf_counter() - start:.1f}s (shared by both, not timed)", flush=True
    )

    ours, seconds_ours, k_ours = run_ours(texts, ids, x, args.seed)
    nmi_ours = cluster_agreement(ours, truth_by_id)["nmi"]
    outliers = sum(v == "outlier" for v in ours.values())
    print(
        f"ours:     {seconds_ours:7.1f}s  k={k_ours:3d}  outliers={outliers:5d}  NMI={nmi_ours:.3f}",
        flush=True,
    )

    # ablation, reported for transparency: the same pipeline on embeddings only (no word features)
    plain, seconds_plain, k_plain = run_ours(texts, ids, x, args.seed, lexical=None)
    nmi_plain = cluster_agreement(plain, truth_by_id)["nmi"]
    print(f"ours, embeddings only: {seconds_plain:7.1f}s  k={k_plain:3d}  NMI={nmi_plain:.3f}", flush=True)

    theirs, seconds_theirs, k_theirs = run_bertopic(texts, ids, x, embedder._load())
    nmi_theirs = cluster_agreement(theirs, truth_by_id)["nmi"]
    noise = sum(v == "-1" for v in theirs.values())
    print(
        f"BERTopic: {seconds_theirs:7.1f}s  k={k_theirs:3d}  outliers={noise:5d}  NMI={nmi_theirs:.3f}",
        flush=True,
    )
    result = {
        "time_ratio_vs_bertopic": round(seconds_ours / seconds_theirs, 4),
        "nmi_ours": round(nmi_ours, 4),
        "nmi_bertopic": round(nmi_theirs, 4),
        "seconds_ours": round(seconds_ours, 3),
        "seconds_bertopic": round(seconds_theirs, 3),
        "n": len(texts),
        "k_ours": k_ours,
        "nmi_ours_embeddings_only": round(nmi_plain, 4),
        "k_bertopic": k_theirs,
        "source": str(Path(source).relative_to(ROOT)),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
