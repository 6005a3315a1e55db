"""The prompts of the three LLM stages, kept as plain text files a user can read and edit.

The paper's results depend on its prompts (the chain-of-thought failure prompt of Fig. 2,
the MECE clustering prompt, the ensemble and aggregation prompts), so they live here as data,
not inside code: ``load_prompts("driving")`` gives the shipped set for a domain,
``PromptSet.save(dir)`` writes it out for editing, and ``load_prompts(overrides=dir)`` (or a
dict of texts/files) reads the edited versions back.

File layout (flat, so it ships as package data): ``NAME.md`` is shared by every domain and
``NAME.DOMAIN.md`` overrides it for one domain. Placeholders look like ``str.format`` fields
(``{task}``); a placeholder with no value renders as ``not given`` instead of raising, other
braces (JSON examples) are left alone, and ``{{name}}`` renders as a literal ``{name}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = ["DOMAINS", "MISSING", "PROMPT_NAMES", "PromptSet", "load_prompts", "render"]

#: Domains with shipped presets.
DOMAINS = ("generic", "manipulation", "driving", "navigation")
#: What a placeholder without a value renders as.
MISSING = "not given"
#: Template fields of a :class:`PromptSet`, in pipeline order.
PROMPT_NAMES = (
    "reasons_system",
    "reasons",
    "cluster_system",
    "cluster",
    "paraphrase",
    "aggregate",
    "merge_batches",
    "assign_system",
    "assign",
    "split",
    "context",
)

_HERE = Path(__file__).parent
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}|\{(\w+)\}")


def render(template: str, values: Mapping[str, Any] | None = None, *, missing: str = MISSING) -> str:
    """Fill ``{name}`` placeholders; absent, ``None`` or blank values become ``missing``.

    Parameters
    ----------
    template:
        Text with ``{name}`` placeholders. Braces that do not enclose a bare identifier
        (JSON examples) are kept verbatim; ``{{name}}`` yields the literal ``{name}``.
    values:
        Placeholder values; lists are joined with ``"; "``.
    missing:
        Text for placeholders with no value.

    Examples
    --------
    >>> render('Task: {task}. Plan: {plan}. JSON: {"a": 1}', {"task": "cook"})
    'Task: cook. Plan: not given. JSON: {"a": 1}'
    """
    values = values or {}

    def substitute(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return "{" + match.group(1) + "}"
        value = values.get(match.group(2))
        if isinstance(value, (list, tuple)):
            value = "; ".join(str(v) for v in value)
        if value is None or not str(value).strip():
            return missing
        return str(value)

    return _PLACEHOLDER.sub(substitute, template)


def placeholders(template: str) -> set[str]:
    """Names a template fills (escaped ``{{name}}`` excluded)."""
    return {m.group(2) for m in _PLACEHOLDER.finditer(template) if m.group(2)}


@dataclass
class PromptSet:
    """Every prompt the LLM engine uses, for one domain.

    Attributes
    ----------
    reasons, reasons_system:
        Stage 1: the chain-of-thought failure prompt (paper Fig. 2) and its system prompt.
    cluster, cluster_system:
        Stage 2: the MECE clustering prompt (must contain ``{reasons}``) and system prompt.
    paraphrase:
        Stage 2 ensemble: asks the model for alternative versions of ``cluster``.
    aggregate:
        Stage 2 ensemble: consolidates the member clusterings into one set.
    merge_batches:
        Stage 2 at scale: merges clusterings of batches that did not fit one request.
    assign, assign_system:
        Stage 3: maps one episode to one cluster id or ``outlier``.
    split:
        Cluster editing: splits one failure mode into ``{n_parts}`` from its members' reasons
        (system prompt: ``cluster_system``).
    context:
        A short phrase naming what the data is (fills ``{domain_context}``).
    domain:
        The preset the set started from.
    sources:
        Where each template came from (a shipped file, a user file, or ``"override"``).
    """

    reasons: str
    reasons_system: str
    cluster: str
    cluster_system: str
    paraphrase: str
    aggregate: str
    merge_batches: str
    assign: str
    assign_system: str
    split: str
    context: str
    domain: str = "generic"
    sources: dict[str, str] = field(default_factory=dict)

    def render(self, name: str, **values: Any) -> str:
        """Render template ``name`` with ``values`` (``domain_context`` filled in)."""
        if name not in PROMPT_NAMES:
            raise KeyError(f"no prompt {name!r}; known: {', '.join(PROMPT_NAMES)}")
        values.setdefault("domain_context", self.context.strip())
        return render(getattr(self, name), values).strip()

    def system(self, stage: str) -> str | None:
        """The system prompt for ``stage`` ("reasons", "cluster" or "assign"), if any."""
        text = getattr(self, f"{stage}_system", "").strip()
        return text or None

    def with_overrides(self, overrides: Mapping[str, str | Path] | str | Path) -> PromptSet:
        """A copy with some templates replaced (texts, files, or a folder of ``NAME.md``)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["sources"] = dict(self.sources)
        for name, (text, source) in _read_overrides(overrides).items():
            values[name] = text
            values["sources"][name] = source
        prompts = PromptSet(**values)
        prompts.validate()
        return prompts

    def validate(self) -> None:
        """Fail early on templates that cannot work (e.g. a cluster prompt without reasons)."""
        if "reasons" not in placeholders(self.cluster):
            raise ValueError("the cluster prompt must contain the {reasons} placeholder")
        if "prompt" not in placeholders(self.paraphrase):
            raise ValueError("the paraphrase prompt must contain the {prompt} placeholder")
        for name in ("aggregate", "merge_batches"):
            if "clusterings" not in placeholders(getattr(self, name)):
                raise ValueError(f"the {name} prompt must contain the {{clusterings}} placeholder")
        if "clusters" not in placeholders(self.assign):
            raise ValueError("the assign prompt must contain the {clusters} placeholder")

    def save(self, directory: str | Path) -> Path:
        """Write every template as ``NAME.md`` into ``directory`` for a user to edit.

        Read the edited set back with ``load_prompts(domain, overrides=directory)``.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for name in PROMPT_NAMES:
            text = getattr(self, name)
            (directory / f"{name}.md").write_text(text if text.endswith("\n") else text + "\n", "utf-8")
        return directory

    def to_dict(self) -> dict[str, str]:
        """Templates by name (for provenance records)."""
        return {name: getattr(self, name) for name in PROMPT_NAMES} | {"domain": self.domain}


def load_prompts(
    domain: str = "generic",
    overrides: Mapping[str, str | Path] | str | Path | None = None,
) -> PromptSet:
    """The shipped prompts for ``domain``, with optional user overrides.

    Parameters
    ----------
    domain:
        One of ``generic``, ``manipulation``, ``driving``, ``navigation``.
    overrides:
        Either a mapping ``{name: text or path}`` (a :class:`~pathlib.Path`, or a string that
        names an existing file, is read from disk; any other string is the template text), or
        a folder holding ``NAME.md`` / ``NAME.txt`` files such as one written by
        :meth:`PromptSet.save`. Names are those in :data:`PROMPT_NAMES`.

    Examples
    --------
    >>> prompts = load_prompts("driving", overrides={"assign": "Clusters: {clusters}"})
    >>> prompts.render("assign", clusters="- C1 | Rear-end")
    'Clusters: - C1 | Rear-end'
    """
    if domain not in DOMAINS:
        raise ValueError(f"unknown prompt domain {domain!r}; choose one of {', '.join(DOMAINS)}")
    texts: dict[str, str] = {}
    sources: dict[str, str] = {}
    for name in PROMPT_NAMES:
        for candidate in (f"{name}.{domain}.md", f"{name}.md", f"{name}.generic.md"):
            path = _HERE / candidate
            if path.is_file():
                texts[name] = path.read_text(encoding="utf-8")
                sources[name] = f"fmviz/prompts/{candidate}"
                break
        else:  # pragma: no cover - a broken install
            raise FileNotFoundError(f"shipped prompt {name!r} is missing from {_HERE}")
    prompts = PromptSet(**texts, domain=domain, sources=sources)
    prompts.validate()
    return prompts.with_overrides(overrides) if overrides else prompts


def _read_overrides(overrides: Mapping[str, str | Path] | str | Path) -> dict[str, tuple[str, str]]:
    """Normalise overrides to ``{name: (text, source)}``."""
    if isinstance(overrides, (str, Path)):
        directory = Path(overrides)
        if not directory.is_dir():
            raise FileNotFoundError(f"prompt override folder {directory} does not exist")
        found = {}
        for name in PROMPT_NAMES:
            for suffix in (".md", ".txt"):
                path = directory / f"{name}{suffix}"
                if path.is_file():
                    found[name] = (path.read_text(encoding="utf-8"), str(path))
                    break
        return found
    found = {}
    for name, value in overrides.items():
        if name not in PROMPT_NAMES:
            raise KeyError(f"cannot override unknown prompt {name!r}; known: {', '.join(PROMPT_NAMES)}")
        if isinstance(value, Path) or (
            isinstance(value, str) and "\n" not in value and len(value) < 512 and Path(value).is_file()
        ):
            path = Path(value)
            if not path.is_file():
                raise FileNotFoundError(f"prompt override for {name!r}: no file at {path}")
            found[name] = (path.read_text(encoding="utf-8"), str(path))
        else:
            found[name] = (str(value), "override")
    return found
