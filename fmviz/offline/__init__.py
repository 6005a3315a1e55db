"""The offline engine: every pipeline stage with sentence embeddings, no LLM and no API key.

``OfflineEngine`` runs stage 1 on the text episodes already carry, discovers failure modes by
clustering embeddings (:mod:`fmviz.offline.discovery`) and assigns by cosine similarity
(:mod:`fmviz.offline.assign`, also the paper's EA baseline).
"""

from __future__ import annotations

from fmviz.offline.cleaning import TextCleaner
from fmviz.offline.embeddings import Embedder
from fmviz.offline.engine import OfflineEngine
from fmviz.offline.static import STATIC_MODEL, StaticEmbedder

__all__ = ["STATIC_MODEL", "Embedder", "OfflineEngine", "StaticEmbedder", "TextCleaner"]
