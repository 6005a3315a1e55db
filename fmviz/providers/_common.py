"""Helpers the HTTP providers share: message layout, image sizes, Retry-After, redaction.

Kept apart from :mod:`fmviz.providers.base` (the interface) so that the interface stays
small and each concrete provider stays a thin mapping onto its official client.
"""

from __future__ import annotations

import email.utils
import io
import re
import time
from collections.abc import Mapping
from typing import Any

from fmviz.providers.base import Image, LLMRequest

__all__ = ["image_size", "parse_retry_after", "redact", "turns"]

#: A token with a masked middle ("sk-pro****wxyz", "AIza-SEC...456", "AIza…456"): servers echo
#: keys this way, and both visible ends are fragments of the key.
_MASKED = re.compile(r"[\w\-]*(?:\*{3,}|\.{3,}|…)[\w\-]*")
#: Whole keys of the providers fmviz talks to (another key than ours may be echoed too).
_KEY_SHAPES = re.compile(r"\b(?:AIza[\w\-]{8,}|sk-[\w\-]{12,}|gsk_[\w\-]{12,})")
#: Shortest fragment of our own key that is masked wherever it appears.
_MIN_FRAGMENT = 8


def turns(request: LLMRequest) -> list[tuple[str, str, tuple[Image, ...]]]:
    """The conversation as ``(role, text, images)`` turns, roles ``user``/``assistant``.

    ``history`` holds the turns before ``prompt`` (repair re-asks put the original question
    and the bad answer there). Images belong to the *first* user turn, so a repair keeps the
    frames next to the question they illustrate.
    """
    result: list[tuple[str, str, tuple[Image, ...]]] = []
    pending = request.images
    for role, text in (*request.history, ("user", request.prompt)):
        images: tuple[Image, ...] = ()
        if role == "user" and pending:
            images, pending = pending, ()
        result.append((role, text, images))
    return result


def image_size(image: Image) -> tuple[int, int] | None:
    """Width and height read from the image header (None if unreadable)."""
    try:
        from PIL import Image as PILImage

        with PILImage.open(io.BytesIO(image.data)) as opened:
            return int(opened.width), int(opened.height)
    except Exception:
        return None


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` / ``retry-after`` (seconds or HTTP date)."""
    if not headers:
        return None
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    if "retry-after-ms" in lowered:
        try:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def redact(text: Any, secret: str | None) -> str:
    """``text`` with the API key, any fragment of it, and anything key-shaped masked as ``***``.

    Servers echo keys whole, masked in the middle (``sk-pro****wxyz``, ``AIza-SEC...456``) or
    cut to a prefix; every such form is removed, so no part of a key reaches an error message,
    ``reasons.json`` or a log.

    Examples
    --------
    >>> redact("API key AIza-SEC...456 not valid", "AIza-SECRET-0123456")
    'API key *** not valid'
    >>> redact("key sk-proj-abcdefgh1234 rejected", None)
    'key *** rejected'
    """
    message = str(text)
    if secret:
        message = message.replace(secret, "***")
        message = _mask_fragments(message, secret)
    message = _KEY_SHAPES.sub("***", message)
    return re.sub(r"(?:\*{3}){2,}", "***", _masked_tokens(message, secret))


def _mask_fragments(message: str, secret: str) -> str:
    """Mask every run of ``_MIN_FRAGMENT`` or more characters that is a substring of ``secret``."""
    if len(secret) < _MIN_FRAGMENT:
        return message
    out, i = [], 0
    while i < len(message):
        length = 0
        while i + length < len(message) and message[i : i + length + 1] in secret:
            length += 1
        if length >= _MIN_FRAGMENT:
            out.append("***")
            i += length
        else:
            out.append(message[i])
            i += 1
    return "".join(out)


def _masked_tokens(message: str, secret: str | None) -> str:
    """Mask tokens with a hidden middle: key-like ends, or ends that are fragments of ``secret``."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        head, tail = re.split(r"\*{3,}|\.{3,}|…", token, maxsplit=1)
        if "*" in token:
            return "***"  # "****" inside a token is always a masked value
        looks_like_key = bool(re.match(r"(AIza|sk-|gsk_|key)", head, re.IGNORECASE))
        from_secret = bool(secret) and (
            (len(head) >= 3 and secret.startswith(head)) or (len(tail) >= 3 and secret.endswith(tail))
        )
        return "***" if looks_like_key or from_secret else token

    return _MASKED.sub(replace, message)
