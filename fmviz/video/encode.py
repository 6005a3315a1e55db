"""Encoding a clip for a model, a widget or a report: JPEG/PNG bytes, thumbnails, data URIs."""

from __future__ import annotations

import base64
import io
from typing import Any

from PIL import Image as PILImage

from fmviz.providers.base import Image
from fmviz.video.clip import Clip, fit

__all__ = ["data_uri", "encode_frames", "thumbnails"]


def encode_frames(clip: Clip, format: str = "jpeg", quality: int = 85) -> tuple[Image, ...]:
    """Encode a clip's frames as inline images for a multimodal model.

    Parameters
    ----------
    clip:
        The clip to encode.
    format:
        ``"jpeg"`` (small, default) or ``"png"`` (lossless).
    quality:
        JPEG quality, 1-95.
    """
    fmt = format.lower()
    if fmt in ("jpg", "jpeg"):
        pil_format, mime = "JPEG", "image/jpeg"
    elif fmt == "png":
        pil_format, mime = "PNG", "image/png"
    else:
        raise ValueError(f"unsupported image format {format!r}; use 'jpeg' or 'png'")
    images = []
    for frame in clip.frames:
        buffer = io.BytesIO()
        kwargs: dict[str, Any] = {"quality": int(quality)} if pil_format == "JPEG" else {}
        PILImage.fromarray(frame).save(buffer, format=pil_format, **kwargs)
        images.append(Image(buffer.getvalue(), mime))
    return tuple(images)


def thumbnails(clip: Clip, max_side: int = 160, quality: int = 80) -> tuple[Image, ...]:
    """Small JPEG thumbnails of a clip's frames for widgets and tables."""
    images = []
    for frame in clip.frames:
        buffer = io.BytesIO()
        fit(PILImage.fromarray(frame), max_side).save(buffer, format="JPEG", quality=quality)
        images.append(Image(buffer.getvalue(), "image/jpeg"))
    return tuple(images)


def data_uri(image: Image) -> str:
    """A ``data:`` URI of an encoded image, for HTML and notebook widgets."""
    return f"data:{image.mime_type};base64,{base64.b64encode(image.data).decode('ascii')}"
