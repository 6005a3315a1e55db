"""Benchmark: does the offline default cluster real crash narratives by scenario, not by place or company?

Runs the offline engine as a user would (``OfflineEngine()``: cleaning with the reporting
company as source, discovery, assignment) on the 1,506 real NHTSA Standing General Order ADS
crash narratives of ``../shared/data/nhtsa_sgo_ads/`` (outside this repository: the benchmark
says so and exits cleanly when the folder is absent; ``--data`` points elsewhere). In the same
run, on the same cleaned texts and the same embeddings:

- BERTopic with default settings (``BERTopic().fit_transform(texts, embeddings)``; its default
  UMAP given a ``random_state`` so that runs repeat);
- TF-IDF + k-means with k set to the true number of labels of each scenario column (an oracle
  k, which the other two do not get).

Each assignment (outliers count as one more label) is scored by NMI and ARI against the two
scenario columns, ``Crash With`` and ``SV Pre-Crash Movement | CP Pre-Crash Movement``, and by
the leakage NMI against ``City`` and ``Reporting Entity`` (lower is better: clusters should not
follow where a crash happened or who reported it), on the whole archive and again on the
narratives that describe a crash: the archive holds cover notes that describe none ("GM is
submitting a duplicate of the redacted public copy of the Report"), which fmviz flags as
boilerplate-only outliers, and a group of one company's notes leaks that company whatever
method finds it. For scale, it also scores the true labels themselves as clusters
(``label_leakage``): a clustering that matched a scenario column exactly would leak this much.
It prints the k curve the engine chose from.
Names are measured too, on the archive and on the SYNTHETIC navigation sample of this repository
(known causes): the cosine similarity (bundled MiniLM) of each cluster's name to a text of the
majority label of its members ("Passenger Car; SV Stopped, CP Proceeding Straight"; "glass
door"), for today's names and, on the same clusters, for the keyphrase names used before
("A / B" from the two leading c-TF-IDF keyphrases). Run from the repository root::

    python benchmarks/bench_real_narratives.py [--data DIR] [--embedding-model NAME] [--seeds 3]

fmviz and BERTopic are also run at ``--seeds`` seeds (same embeddings) and reported as
``[mean, min, max]`` per score (``over_seeds``), since one seed's difference can be noise. For a
"before" figure, copy this file into a checkout of an older commit and run it there with
``--data``. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fmviz.episodes import Dataset, Episode  # noqa: E402
from fmviz.loaders import load_dataset  # noqa: E402
from fmviz.offline import OfflineEngine  # noqa: E402
from fmviz.offline.assign import reason_text  # noqa: E402
from fmviz.offline.embeddings import Embedder  # noqa: E402

try:  # the names before failure phrases (absent from older checkouts, where names are keyphrases)
    from fmviz.offline.keyphrases import keyphrase_name
except ImportError:  # pragma: no cover - a "before" run

    def keyphrase_name(keywords: list[str], index: int) -> str:
        name = " / ".join(keywords[:2]) or f"Cluster {index + 1}"
        return name[0].upper() + name[1:]


DEFAULT_DATA = ROOT.parent / "shared" / "data" / "nhtsa_sgo_ads"
SCENARIO = "SV Pre-Crash Movement | CP Pre-Crash Movement"
COLUMNS = ("Crash With", SCENARIO, "City", "Reporting Entity")
METADATA = ("Reporting Entity", "Crash With", "SV Pre-Crash Movement", "CP Pre-Crash Movement", "City")


def load(folder: Path) -> pd.DataFrame:
    """The archive with the scenario pair column added; rows without a narrative dropped."""
    frame = pd.read_csv(folder / "sgo_ads_incidents_2021_2025.csv", dtype=str).fillna("")
    frame = frame[frame["Narrative"].str.strip() != ""].reset_index(drop=True)
    frame[SCENARIO] = frame["SV Pre-Crash Movement"] + " | " + frame["CP Pre-Crash Movement"]
    return frame


def to_dataset(frame: pd.DataFrame) -> Dataset:
    episodes = [
        Episode(
            f"e{i:05d}",
            narrative=row["Narrative"],
            metadata={c: row[c] for c in METADATA},
        )
        for i, row in frame.iterrows()
    ]
    return Dataset(episodes, name="nhtsa-sgo-ads", domain="driving", group_column="Reporting Entity")


def scores(
    pred: dict[str, str], frame: pd.DataFrame, ids: list[str], only: set[str] | None = None
) -> dict[str, float]:
    """NMI and ARI per scenario column; NMI per leakage column. Missing episodes count as outliers.

    ``only`` scores a subset of the episodes (those that describe a crash).
    """
    rows = [n for n, i in enumerate(ids) if only is None or i in only]
    labels = [pred.get(ids[n], "outlier") for n in rows]
    out = {}
    for column in COLUMNS:
        truth = frame[column].iloc[rows].tolist()
        key = column.split(" |")[0].replace(" ", "_").lower() if column != SCENARIO else "movements"
        out[f"nmi_{key}"] = round(float(normalized_mutual_info_score(truth, labels)), 4)
        if column in ("Crash With", SCENARIO):
            out[f"ari_{key}"] = round(float(adjusted_rand_score(truth, labels)), 4)
    out["k"] = len(set(labels) - {"outlier", "-1"})
    out["outliers"] = sum(v in ("outlier", "-1") for v in labels)
    return out


def naming_scores(clusters: object, truth: dict[str, str], scorer: Embedder) -> dict[str, float]:
    """Mean cosine of each cluster's name (now, and as keyphrases) to its majority label's text."""
    names, keyphrases, targets = [], [], []
    for index, cluster in enumerate(clusters):
        members = [truth[m] for m in clusters.members(cluster.id) if m in truth]
        if not members:
            continue
        targets.append(pd.Series(members).mode().iloc[0])
        names.append(cluster.name)
        keyphrases.append(keyphrase_name(list(cluster.keywords), index))
    if not targets:
        return {}
    t = scorer.embed(targets)
    now = float(np.mean(np.sum(scorer.embed(names) * t, axis=1)))
    before = float(np.mean(np.sum(scorer.embed(keyphrases) * t, axis=1)))
    return {"names": round(now, 4), "keyphrase_names": round(before, 4), "clusters": len(targets)}


def navigation_naming(embedding_model: str | None, seed: int, scorer: Embedder) -> dict[str, object]:
    """Name the clusters of the SYNTHETIC navigation sample; score against its causes."""
    folder = ROOT / "sample_data" / "navigation"
    if not (folder / "manifest.csv").exists():
        return {"skipped": "no sample_data/navigation"}
    dataset = load_dataset(folder)
    engine = OfflineEngine(embedding_model, seed=seed)
    reasons = engine.infer_reasons(dataset)
    clusters = engine.discover_clusters(reasons)
    truth = {e.id: str(e.label).replace("_", " ") for e in dataset if e.label}
    result: dict[str, object] = dict(naming_scores(clusters, truth, scorer))
    result["examples"] = [c.name for c in clusters]
    return result


def embedding_speed(texts: list[str]) -> dict[str, float]:
    """Texts per second of MiniLM and of the static model on the same texts (no cache, model loaded)."""
    out: dict[str, float] = {"texts": len(texts)}
    embedders = [("minilm", Embedder(cache_dir=False, show_progress=False))]
    try:
        from fmviz.offline.static import StaticEmbedder

        embedders.append(("static", StaticEmbedder(cache_dir=False, show_progress=False)))
    except ImportError:  # a "before" checkout has no static model
        pass
    for name, embedder in embedders:
        embedder.embed(texts[:2])  # load the model outside the timing
        start = time.perf_counter()
        embedder.embed(texts)
        out[f"{name}_texts_per_s"] = round(len(texts) / (time.perf_counter() - start), 1)
    return out


def tfidf_kmeans(texts: list[str], k: int, seed: int) -> list[str]:
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    x = TfidfVectorizer(stop_words="english", sublinear_tf=True, min_df=2).fit_transform(texts)
    return [str(v) for v in KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(x)]


def bertopic_labels(kept: list[str], texts: list[str], embeddings: np.ndarray, seed: int) -> dict[str, str]:
    """BERTopic with default settings on the same embeddings; its default UMAP given ``seed``."""
    from bertopic import BERTopic
    from umap import UMAP

    # BERTopic's default UMAP, seeded (as fmviz.evaluate.baselines does): unseeded, its k
    # and scores change from run to run (measured here: 6 to 34 topics)
    umap_model = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=seed)
    topics, _ = BERTopic(umap_model=umap_model).fit_transform(texts, embeddings=embeddings)
    return dict(zip(kept, map(str, topics), strict=True))


def over_seeds(
    args: argparse.Namespace,
    dataset: Dataset,
    frame: pd.DataFrame,
    ids: list[str],
    kept: list[str],
    kept_texts: list[str],
    embeddings: np.ndarray,
) -> dict[str, dict[str, object]]:
    """fmviz and BERTopic at ``args.seeds`` seeds on the same embeddings: mean, min and max of each
    score, so that a difference between the two is read against their own spread, and how much
    two seeds' assignments agree (``seed_agreement``: mean NMI over pairs of seeds)."""
    runs: dict[str, list[dict[str, float]]] = {"ours": [], "bertopic": []}
    assignments: dict[str, list[list[str]]] = {"ours": [], "bertopic": []}
    for seed in range(args.seed, args.seed + args.seeds):
        engine = OfflineEngine(args.embedding_model, seed=seed)
        reasons = engine.infer_reasons(dataset)
        assigned = engine.assign(reasons, engine.discover_clusters(reasons)).labels()
        runs["ours"].append(scores(assigned, frame, ids))
        assignments["ours"].append([assigned.get(i, "outlier") for i in ids])
        with contextlib.suppress(ImportError):
            topics = bertopic_labels(kept, kept_texts, embeddings, seed)
            runs["bertopic"].append(scores(topics, frame, ids))
            assignments["bertopic"].append([topics.get(i, "-1") for i in ids])
    keys = ("nmi_crash_with", "nmi_movements", "nmi_city", "nmi_reporting_entity")
    out: dict[str, dict[str, object]] = {}
    for method, rows in runs.items():
        if rows:
            out[method] = {key: spread([r[key] for r in rows]) for key in keys}
            pairs = list(itertools.combinations(assignments[method], 2))
            agreement = [normalized_mutual_info_score(a, b) for a, b in pairs]
            out[method]["seed_agreement"] = round(float(np.mean(agreement)), 4) if pairs else None
    return out


def label_leakage(frame: pd.DataFrame, ids: list[str], notes: set[str]) -> dict[str, dict[str, float]]:
    """Leakage of the true labels themselves, used as clusters: what a perfect scenario clustering
    leaks. Once with the cover notes as one more group (as any method that keeps them together
    has them), once on the narratives that describe a crash. A leakage target below these figures
    cannot be met by agreeing with that column."""
    out = {}
    describing = [n for n, i in enumerate(ids) if i not in notes]
    for column in ("Crash With", SCENARIO):
        key = "movements" if column == SCENARIO else "crash_with"
        grouped = [("cover note" if i in notes else v) for i, v in zip(ids, frame[column], strict=True)]
        out[f"{key}_with_notes_grouped"] = {
            leak: round(float(normalized_mutual_info_score(frame[leak], grouped)), 4)
            for leak in ("City", "Reporting Entity")
        }
        out[f"{key}_describing"] = {
            leak: round(
                float(
                    normalized_mutual_info_score(frame[leak].iloc[describing], frame[column].iloc[describing])
                ),
                4,
            )
            for leak in ("City", "Reporting Entity")
        }
    return out


def spread(values: list[float]) -> list[float]:
    """``[mean, min, max]``."""
    return [round(float(np.mean(values)), 4), min(values), max(values)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--embedding-model", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--speed-sample", type=int, default=200, help="narratives timed per embedder")
    parser.add_argument("--seeds", type=int, default=3, help="seeds compared for fmviz and BERTopic")
    args = parser.parse_args()
    if not (args.data / "sgo_ads_incidents_2021_2025.csv").exists():
        print(f"skipped: the NHTSA archive is not at {args.data} (it lives in ../shared, outside the repo)")
        print(json.dumps({"skipped": True, "reason": f"no data at {args.data}"}))
        return

    frame = load(args.data)
    dataset = to_dataset(frame)
    ids = [e.id for e in dataset]
    print(f"{len(frame)} real narratives from {args.data}", flush=True)
    engine = OfflineEngine(args.embedding_model, seed=args.seed)
    start = time.perf_counter()
    reasons = engine.infer_reasons(dataset)
    texts = {r.episode_id: reason_text(r) for r in reasons}
    embeddings = engine.embed([texts[i] for i in texts])  # cached: shared with BERTopic
    t_embed = time.perf_counter() - start
    start = time.perf_counter()
    clusters = engine.discover_clusters(reasons)
    assignments = engine.assign(reasons, clusters)
    t_ours = time.perf_counter() - start
    result: dict[str, object] = {"n": len(frame), "embedding_model": engine.embedder.model_id}
    ours = scores(assignments.labels(), frame, ids)
    result["ours"] = ours
    # cover notes that describe no crash (outliers as boilerplate): every method also scored without them
    notes = {r.episode_id for r in reasons if getattr(r, "boilerplate_only", False)}
    describing = set(ids) - notes
    result["boilerplate_only"] = len(notes)
    result["ours_describing"] = scores(assignments.labels(), frame, ids, describing)
    result["label_leakage"] = label_leakage(frame, ids, notes)
    print(
        f"leakage of the true labels as clusters (a floor for agreeing with them): {result['label_leakage']}"
    )
    selection = clusters.provenance.get("k_selection", {})
    print(f"k curve ({selection.get('metric')}, rule {selection.get('rule')}): {selection.get('scores')}")
    print(f"ours ({t_embed:.1f}s stage 1 + embeddings, {t_ours:.1f}s clusters + assignment): {ours}")
    print(f"  on the {len(describing)} narratives that describe a crash: {result['ours_describing']}")
    print("names:", "; ".join(c.name for c in clusters))
    result["names"] = [c.name for c in clusters]
    scorer = Embedder(show_progress=False)  # the judge of names: MiniLM, whatever engine ran
    label_text = {
        i: f"{row['Crash With']}; SV {row['SV Pre-Crash Movement']}, CP {row['CP Pre-Crash Movement']}"
        for i, (_, row) in zip(ids, frame.iterrows(), strict=True)
    }
    result["naming_nhtsa"] = naming_scores(clusters, label_text, scorer)
    result["naming_navigation"] = navigation_naming(args.embedding_model, args.seed, scorer)
    print(f"naming (cosine of name to majority label): archive {result['naming_nhtsa']}")
    print(f"naming on the synthetic navigation sample: {result['naming_navigation']}")

    kept = [i for i in ids if i in texts]
    kept_texts = [texts[i] for i in kept]
    try:
        start = time.perf_counter()
        predicted = bertopic_labels(kept, kept_texts, embeddings, args.seed)
        bertopic = scores(predicted, frame, ids)
        print(f"BERTopic defaults, same embeddings ({time.perf_counter() - start:.1f}s): {bertopic}")
        result["bertopic"] = bertopic
        result["bertopic_describing"] = scores(predicted, frame, ids, describing)
        print(f"  on the narratives that describe a crash: {result['bertopic_describing']}")
    except ImportError:
        print("BERTopic not installed (extra 'baselines'): skipped")
    if args.seeds > 1:
        result["over_seeds"] = over_seeds(args, dataset, frame, ids, kept, kept_texts, embeddings)
        print(f"over seeds {args.seed}..{args.seed + args.seeds - 1}: {result['over_seeds']}")
    for column in ("Crash With", SCENARIO):
        k = frame[column].nunique()
        labels = tfidf_kmeans([texts[i] for i in kept], k, args.seed)
        baseline = scores(dict(zip(kept, labels, strict=True)), frame, ids)
        name = "tfidf_kmeans_k_crash_with" if column == "Crash With" else "tfidf_kmeans_k_movements"
        print(f"TF-IDF k-means, k = {k} ({column}): {baseline}")
        result[name] = baseline
        result[f"{name}_describing"] = scores(dict(zip(kept, labels, strict=True)), frame, ids, describing)
    result["embedding_speed"] = embedding_speed([texts[i] for i in kept][: args.speed_sample])
    print(f"embedding speed on the same cleaned narratives: {result['embedding_speed']}")
    result["k_curve"] = selection.get("scores")
    result["k_rule_applied"] = selection.get("applied")
    result["source_signal"] = clusters.provenance.get("source_signal")
    result["seconds_embed"] = round(t_embed, 2)
    result["seconds_clusters_assign"] = round(t_ours, 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
