"""The cleaning report: what text cleaning removed, one row per pattern, for ``cleaning.csv``.

Kept apart from :mod:`fmviz.offline.cleaning` so the report's columns and their meaning are
defined in one place that the engine, the CLI and the HTML report all read.
"""

from __future__ import annotations

from collections import Counter

import pandas as pd

__all__ = ["KEPT_PATTERN", "REPORT_COLUMNS", "Key", "report_frame"]

#: Columns of :meth:`fmviz.offline.cleaning.TextCleaner.report`: ``kind`` (``sentence``,
#: ``phrase``, ``mask``, ``name``, a context kind such as ``place`` or ``date``, or ``kept``),
#: ``pattern`` (an example of the removed text), ``group`` (the source whose own boilerplate or
#: name it is; ``None`` for corpus-wide patterns and masks), ``docs`` (documents it was removed
#: from) and ``doc_share`` (``docs`` over the documents of ``group`` for per-source boilerplate,
#: over the whole fitted corpus otherwise).
REPORT_COLUMNS = ["kind", "pattern", "group", "docs", "doc_share"]

#: The pattern of a ``kept`` row: documents that cleaning would have emptied keep their text
#: (context, masks and names still removed), so no episode ends up with nothing to embed.
KEPT_PATTERN = "cleaning would leave (almost) nothing: text kept, context masked"

#: ``(kind, key, group)`` of one removed pattern; group ``None`` means corpus-wide.
Key = tuple[str, str, "str | None"]


def report_frame(
    docs: Counter[Key], examples: dict[Key, str], group_sizes: dict[str, int], n_docs: int
) -> pd.DataFrame:
    """Rows of removed patterns, most widespread first.

    Parameters
    ----------
    docs:
        Documents each pattern was removed from.
    examples:
        The removed text shown for each pattern.
    group_sizes:
        Documents per source: a source's own boilerplate has its share over these.
    n_docs:
        Documents in the fitted corpus (the share of everything else).
    """
    rows = []
    for (kind, key, scope), count in docs.items():
        per_group = kind in ("sentence", "phrase") and scope is not None
        n = group_sizes.get(scope, 0) if per_group and scope is not None else n_docs
        rows.append(
            {
                "kind": kind,
                "pattern": examples[(kind, key, scope)],
                "group": scope,
                "docs": count,
                "doc_share": count / max(n, 1),
            }
        )
    frame = pd.DataFrame(rows, columns=REPORT_COLUMNS)
    frame = frame.sort_values(["docs", "kind"], ascending=[False, True], ignore_index=True)
    frame["group"] = frame["group"].astype(object).where(frame["group"].notna(), None)
    return frame
