"""Who wrote a text is taken out of the clustering features (fmviz.offline.debias)."""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score as nmi

from fmviz.offline.debias import remove_source_signal
from fmviz.offline.embeddings import unit_rows


def _reports(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SYNTHETIC features: 3 failure modes written by 3 sources, each source with two templates.

    The source signal (a mean offset plus a template direction of its own) is twice as strong as
    the content, as a company's style is in real crash narratives.
    """
    rng = np.random.default_rng(seed)
    dim, n = 48, 600
    content = rng.integers(0, 3, n)
    source = rng.integers(0, 3, n)
    template = rng.integers(0, 2, n)
    modes = rng.normal(size=(3, dim))
    offsets = 2.0 * rng.normal(size=(3, dim))
    styles = 2.0 * rng.normal(size=(3, dim))
    x = modes[content] + offsets[source] + styles[source] * template[:, None]
    x += 0.3 * rng.normal(size=(n, dim))
    return unit_rows(x.astype(np.float32)), content, source


def _kmeans(x: np.ndarray) -> np.ndarray:
    return KMeans(3, n_init=10, random_state=0).fit_predict(x)


def test_clusters_follow_content_once_the_source_is_removed():
    x, content, source = _reports()
    before = _kmeans(x)
    assert nmi(source, before) > nmi(content, before)  # left alone, clusters follow the writer
    cleaned, record = remove_source_signal(x, [f"company-{s}" for s in source])
    after = _kmeans(cleaned)
    assert nmi(content, after) > 0.8
    assert nmi(source, after) < 0.1
    assert record["removed_directions"] > 0
    accuracy = record["balanced_accuracy"]
    assert accuracy[-1] < accuracy[0]  # the source is less predictable after each projection
    assert cleaned.shape == x.shape
    assert np.allclose(np.linalg.norm(cleaned, axis=1), 1, atol=1e-5)


def test_without_sources_nothing_changes_and_small_sources_are_pooled():
    x, _, _source = _reports(1)
    same, record = remove_source_signal(x, None)
    assert same is x
    assert record == {"method": "none"}
    # every text from its own source: nothing to learn, the features are only centred away
    unique, record = remove_source_signal(x, [str(i) for i in range(len(x))])
    assert record["sources"] == 0
    assert record["removed_directions"] == 0
    assert np.allclose(unique, x, atol=1e-6)
