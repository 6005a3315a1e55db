"""Topic-model baselines of the paper: BERTopic, and BERTopic with LLM-written topic labels.

The paper applies BERTopic to the same stage-1 reasons (its keywords lists in Sec. V-A), and a
stronger variant, BERTopic-LLM, where a language model names each topic from its keywords and
representative documents. Both return fmviz's :class:`~fmviz.results.ClusterSet` and
:class:`~fmviz.results.Assignments`, so every metric, figure and widget applies to them as to
any engine's output.

* BERTopic runs with its default settings on the same embeddings fmviz uses (the configured
  :class:`~fmviz.offline.embeddings.Embedder`). The one change is a ``random_state`` on its
  default UMAP (same parameters: 15 neighbours, 5 components, ``min_dist`` 0, cosine), so a
  run is reproducible. Topic ``-1`` (HDBSCAN noise) becomes ``outlier``.
* BERTopic-LLM keeps BERTopic's topics and assignments and asks a model, through fmviz's runner
  (so the loopback server, a local model or a provider all work, cached), for a name and a
  description per topic. Labels from the loopback server are scripted, not a model's.

``bertopic`` is the optional extra ``baselines`` (``pip install -e ".[baselines]"``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from fmviz.evaluate.judge import TopicLabel, ask_each
from fmviz.results import OUTLIER, Assignment, Assignments, Cluster, ClusterSet, Reasons

if TYPE_CHECKING:
    from fmviz import LLM
    from fmviz.offline.embeddings import Embedder

__all__ = ["BERTOPIC_HELP", "bertopic_baseline", "bertopic_llm_baseline"]

BERTOPIC_HELP = 'the BERTopic baselines need the optional extra: pip install -e ".[baselines]"'
#: Words of a topic kept as its keywords (BERTopic's default ``top_n_words``).
TOP_WORDS = 10
#: Words joined into the default name of a topic (the paper lists them as the topic).
NAME_WORDS = 4


def bertopic_baseline(
    reasons: Reasons,
    *,
    embedder: Embedder | None = None,
    seed: int = 0,
) -> tuple[ClusterSet, Assignments]:
    """BERTopic with default settings on the reasons' texts and embeddings.

    Parameters
    ----------
    reasons:
        Stage-1 reasons; the text of each is what the offline engine clusters
        (:func:`fmviz.offline.assign.reason_text`).
    embedder:
        The embedding model (default: the bundled MiniLM); the vectors are cached on disk.
    seed:
        ``random_state`` of BERTopic's default UMAP.

    Returns
    -------
    (ClusterSet, Assignments)
        Clusters ``C1..`` in BERTopic's topic order (largest first), named by their top words;
        ``membership`` lists each topic's episodes; provenance holds keywords and representative
        episode ids. Noise is ``outlier``.

    Examples
    --------
    >>> clusters, assignments = bertopic_baseline(result.reasons)  # doctest: +SKIP
    """
    try:
        from bertopic import BERTopic
        from umap import UMAP
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(BERTOPIC_HELP) from exc
    from fmviz.offline.assign import reason_text
    from fmviz.offline.embeddings import Embedder

    items = list(reasons)
    # BERTopic's defaults (5 UMAP components, 15 neighbours, topics of 10 or more) cannot model fewer
    if len(items) < 10:
        raise ValueError(f"BERTopic needs at least 10 reasons to find topics, got {len(items)}")
    embedder = embedder if embedder is not None else Embedder()
    texts = [reason_text(r) for r in items]
    ids = [r.episode_id for r in items]
    x = np.asarray(embedder.embed(texts))
    umap_model = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=seed)
    model = BERTopic(umap_model=umap_model)
    topics, _ = model.fit_transform(texts, embeddings=x)
    topic_ids = sorted({int(t) for t in topics if int(t) != -1})
    cid = {t: f"C{i}" for i, t in enumerate(topic_ids, start=1)}
    members: dict[str, list[str]] = {cid[t]: [] for t in topic_ids}
    for episode_id, topic in zip(ids, topics, strict=True):
        if int(topic) != -1:
            members[cid[int(topic)]].append(episode_id)
    representative_docs = model.get_representative_docs() or {}
    by_text = {}
    for episode_id, text in zip(ids, texts, strict=True):
        by_text.setdefault(text, episode_id)
    clusters, keywords, representatives = [], {}, {}
    for t in topic_ids:
        words = [w for w, _ in (model.get_topic(t) or [])][:TOP_WORDS]
        keywords[cid[t]] = words
        docs = representative_docs.get(t, [])
        representatives[cid[t]] = [by_text[d] for d in docs if d in by_text]
        name = ", ".join(words[:NAME_WORDS]) or f"topic {t}"
        share = len(members[cid[t]]) / len(items)
        clusters.append(Cluster(cid[t], name, f"BERTopic topic {t}: {', '.join(words)}", words, share))
    provenance = {
        "engine": "bertopic",
        "bertopic_version": _version("bertopic"),
        "settings": "BERTopic defaults; UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric='cosine', "
        f"random_state={seed})",
        "embedding_model": embedder.model_id,
        "seed": seed,
        "n_reasons": len(items),
        "keywords": keywords,
        "representatives": representatives,
        "topic_ids": {cid[t]: t for t in topic_ids},
    }
    assignments = Assignments(
        Assignment(
            episode_id,
            cid[int(topic)] if int(topic) != -1 else OUTLIER,
            "BERTopic topic" if int(topic) != -1 else "BERTopic noise (topic -1)",
            None,
        )
        for episode_id, topic in zip(ids, topics, strict=True)
    )
    membership = {e: c for c, ids in members.items() for e in ids}
    return ClusterSet(clusters, provenance, membership=membership), assignments


def bertopic_llm_baseline(
    reasons: Reasons,
    llm: LLM,
    *,
    base: tuple[ClusterSet, Assignments] | None = None,
    embedder: Embedder | None = None,
    seed: int = 0,
    domain: str = "generic",
) -> tuple[ClusterSet, Assignments]:
    """BERTopic-LLM: BERTopic's topics, named and described by ``llm`` (one cached call per topic).

    Parameters
    ----------
    reasons:
        Stage-1 reasons.
    llm:
        The labelling model (:class:`fmviz.LLM` around any provider).
    base:
        A :func:`bertopic_baseline` result to relabel; fitted here when omitted.
    embedder, seed:
        Passed to :func:`bertopic_baseline` when fitting.
    domain:
        Prompt preset whose one-line context fills ``{domain_context}`` in ``label_topic``.

    Returns
    -------
    (ClusterSet, Assignments)
        The same topics and assignments as BERTopic; names and descriptions from the model
        (a topic the model could not label keeps its keyword name; see
        ``provenance["label_errors"]``).

    Examples
    --------
    >>> clusters, assignments = bertopic_llm_baseline(result.reasons, llm)  # doctest: +SKIP
    """
    from fmviz.prompts import load_prompts

    clusters, assignments = (
        base if base is not None else bertopic_baseline(reasons, embedder=embedder, seed=seed)
    )
    by_id = {r.episode_id: r for r in reasons}
    context = load_prompts(domain).context.strip()
    keywords = clusters.provenance.get("keywords", {})
    representatives = clusters.provenance.get("representatives", {})
    items = {}
    for cluster in clusters:
        docs = [by_id[e].failure_reason.strip() for e in representatives.get(cluster.id, []) if e in by_id]
        items[cluster.id] = {
            "domain_context": context,
            "keywords": ", ".join(keywords.get(cluster.id, cluster.keywords)),
            "documents": "\n".join(f"- {d}" for d in docs),
        }
    labelled = ask_each(llm, items, template="label_topic", schema=TopicLabel, desc="label topics")
    relabelled = []
    for cluster in clusters:
        answer = labelled.answers.get(cluster.id)
        if isinstance(answer, TopicLabel):
            relabelled.append(
                Cluster(cluster.id, answer.name, answer.description, cluster.keywords, cluster.frequency)
            )
        else:
            relabelled.append(cluster)
    provenance = dict(clusters.provenance) | {
        "engine": "bertopic-llm",
        "label_model": llm.spec,
        "label_errors": labelled.errors,
    }
    return ClusterSet(relabelled, provenance, membership=clusters.membership), assignments


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:  # pragma: no cover
        return "unknown"
