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

_MASKED = re.compile(r"[\w\-]*\*{3,}[\w\-]*")


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
    """``text`` with the API key (and its visible tail, as servers echo it) removed."""
    message = str(text)
    if secret:
        message = message.replace(secret, "***")
    # Servers echo keys masked in the middle ("sk-pro****wxyz"); drop the visible ends too.
    return _MASKED.sub("***", message)
