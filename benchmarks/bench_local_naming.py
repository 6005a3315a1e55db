"""Does the bundled local model (SmolLM2-135M) name offline clusters better than their keyphrases?

The offline engine clusters the SYNTHETIC navigation sample (``sample_data/navigation``, 80
collisions, 8 known causes) and describes each cluster by keyphrases. For each cluster this
benchmark asks :class:`fmviz.providers.local.LocalProvider` for a 2-6 word failure-mode name
from its keyphrases and 3 representative reasons (and, as a variant, from the keyphrases
alone; both prompts carry two worked examples from other domains), and scores the names by cosine
similarity (bundled all-MiniLM-L6-v2 embeddings) to a short human-written name of the cause
that is the majority label of the cluster's members:

* ``keywords``: the first four keyphrases joined with commas (the baseline);
* ``offline_names``: the offline engine's own "A / B" cluster name;
* ``llm_names``: SmolLM2's name from keyphrases + 3 reasons (``llm_names_kw_only``: keyphrases only).

It also scores against the raw label (``thin_chair_legs`` -> "thin chair legs"). Run from the
repository root::

    python benchmarks/bench_local_naming.py

The last line printed is one JSON object.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fmviz.loaders import load_dataset  # noqa: E402
from fmviz.offline import OfflineEngine  # noqa: E402
from fmviz.providers.base import LLMRequest  # noqa: E402
from fmviz.providers.local import LocalProvider  # noqa: E402

#: Short human names of the synthetic causes (from sample_data/navigation/README.md).
CAUSE_NAMES = {
    "thin_chair_legs": "thin chair legs missed by obstacle detection",
    "featureless_white_wall": "featureless white wall invisible to stereo depth",
    "glass_door": "glass door invisible to the depth sensor",
    "narrow_gap": "gap narrower than the robot footprint",
    "low_clutter": "low floor clutter below the ground filter",
    "corner_clip": "door frame or wall corner clipped while turning",
    "dark_box": "dark low-reflectance object not detected",
    "overhang": "overhanging desk top struck by the mast",
}

SYSTEM = "You name failure modes of robots. Reply with the name only."
ASK = "Name the failure mode in 2-6 words."
#: Two worked examples from other domains (a 135M model copies a format far better than it
#: follows an instruction; without them it answers "The failure causes of the failure is").
FEW_SHOT = (
    ("user", f"Keywords: gripper, slipped, mug, handle, wet\n{ASK}"),
    ("assistant", "Gripper slips on wet mug handle"),
    ("user", f"Keywords: lane, merge, late, braking, truck\n{ASK}"),
    ("assistant", "Late braking during truck merge"),
)


def clean_name(text: str) -> str:
    """First line of the answer, without quotes, a 'Name:' prefix or trailing punctuation."""
    line = next((part for part in text.strip().splitlines() if part.strip()), "")
    line = re.sub(r"^(failure mode|name|answer)\s*[:\-]\s*", "", line.strip(), flags=re.IGNORECASE)
    line = line.strip(" \"'*.`")
    return " ".join(line.split()[:8])


def cosine(embedder, texts: list[str], references: list[str]) -> np.ndarray:
    """Row-wise cosine similarity of texts[i] and references[i] (embeddings are normalised)."""
    a = embedder.embed(texts)
    b = embedder.embed(references)
    return np.sum(a * b, axis=1)


def main() -> dict:
    started = time.perf_counter()
    dataset = load_dataset(ROOT / "sample_data" / "navigation")
    labels = {episode.id: episode.label for episode in dataset}
    engine = OfflineEngine(seed=0)
    reasons = engine.infer_reasons(dataset)
    texts = {reason.episode_id: reason.failure_reason for reason in reasons}
    clusters = engine.discover_clusters(reasons)
    members = clusters.provenance["members"]
    representatives = clusters.provenance.get("representatives", {})
    offline_seconds = time.perf_counter() - started

    provider = LocalProvider("smollm2", max_new_tokens=16)
    rows = []
    llm_started = time.perf_counter()
    for cluster in clusters:
        ids = members[cluster.id]
        majority, _ = Counter(labels[i] for i in ids).most_common(1)[0]
        examples = [i for i in representatives.get(cluster.id, []) if i in texts] or ids
        shown = "\n".join(f"- {texts[i][:200]}" for i in examples[:3])
        keyphrases = ", ".join(cluster.keywords[:8])
        with_examples = provider.complete(
            LLMRequest(
                prompt=f"Keywords: {keyphrases}\nExample failure reports:\n{shown}\n{ASK}",
                system=SYSTEM,
                history=FEW_SHOT,
                stage="naming",
            )
        )
        keywords_only = provider.complete(
            LLMRequest(
                prompt=f"Keywords: {keyphrases}\n{ASK}", system=SYSTEM, history=FEW_SHOT, stage="naming"
            )
        )
        rows.append(
            {
                "cluster": cluster.id,
                "majority": majority,
                "purity": round(sum(labels[i] == majority for i in ids) / len(ids), 3),
                "keywords": ", ".join(cluster.keywords[:4]),
                "offline_name": cluster.name,
                "llm_name": clean_name(with_examples.text) or with_examples.text.strip(),
                "llm_name_kw_only": clean_name(keywords_only.text) or keywords_only.text.strip(),
            }
        )
    llm_seconds = time.perf_counter() - llm_started
    provider.close()

    embedder = engine.embedder
    truth = [CAUSE_NAMES[row["majority"]] for row in rows]
    raw_labels = [row["majority"].replace("_", " ") for row in rows]
    scores = {}
    for column in ("keywords", "offline_name", "llm_name", "llm_name_kw_only"):
        names = [row[column] for row in rows]
        scores[column] = cosine(embedder, names, truth)
        scores[column + "_label"] = cosine(embedder, names, raw_labels)
    for i, row in enumerate(rows):
        row.update({f"cos_{key}": round(float(value[i]), 3) for key, value in scores.items()})
        print(json.dumps(row))
    wins = int(np.sum(scores["llm_name"] > scores["keywords"]))
    result = {
        "benchmark": "local_naming",
        "data": "sample_data/navigation (SYNTHETIC)",
        "model": "smollm2 (SmolLM2-135M-Instruct Q4_1, greedy)",
        "mean_cos_keywords": round(float(scores["keywords"].mean()), 4),
        "mean_cos_llm_names": round(float(scores["llm_name"].mean()), 4),
        "mean_cos_llm_names_kw_only": round(float(scores["llm_name_kw_only"].mean()), 4),
        "mean_cos_offline_names": round(float(scores["offline_name"].mean()), 4),
        "mean_cos_keywords_vs_label": round(float(scores["keywords_label"].mean()), 4),
        "mean_cos_llm_names_vs_label": round(float(scores["llm_name_label"].mean()), 4),
        "llm_wins": wins,
        "n_clusters": len(rows),
        "mean_purity": round(float(np.mean([row["purity"] for row in rows])), 3),
        "offline_seconds": round(offline_seconds, 1),
        "llm_seconds": round(llm_seconds, 1),
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
