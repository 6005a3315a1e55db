"""What every fmviz widget shares: its shipped front end, typed binary arrays, payload sizes.

Each widget is an :class:`anywidget.AnyWidget` whose front end lives in
``widgets/<name>/<name>.js`` and ``<name>.css`` (in a wheel: ``fmviz/_widgets/<name>/``,
copied there by ``setup.py`` at build time). A widget module may import helpers from
``widgets/_shared/*.js`` with a plain ``import { a } from "../_shared/x.js";`` line, which
keeps the files readable and runnable without a bundler; anywidget loads an ES module from
a blob URL where relative imports cannot resolve, so :func:`widget_esm` inlines those
helpers (their ``export`` keywords dropped) into the one module it returns.

Numbers travel as typed binary: :class:`TypedArray` holds a numpy array and syncs it as
``{"dtype", "shape", "buffer"}`` with the bytes as a binary buffer (a ``DataView`` in the
browser, decoded by ``decodeArray`` in ``widgets/_shared/arrays.js``). Frames travel as JPEG
bytes. :func:`saved_size` measures what a widget adds to a saved notebook (JSON plus base64
buffers), the number every payload budget is checked against.

Links between widgets are :func:`ipywidgets.jsdlink` objects (see :func:`link`): a link
widget the browser runs, saved with the notebook, so it still works in exported HTML.
"""

from __future__ import annotations

import base64
import io
import json
import re
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import anywidget
import ipywidgets
import numpy as np
import traitlets
from PIL import Image as PILImage

__all__ = [
    "FmvizWidget",
    "TypedArray",
    "array_from_json",
    "array_to_json",
    "jpeg_bytes",
    "link",
    "saved_size",
    "widget_asset",
    "widget_css",
    "widget_esm",
]

_PACKAGE_ASSETS = Path(__file__).resolve().parent.parent / "_widgets"
_SOURCE_ASSETS = Path(__file__).resolve().parent.parent.parent / "widgets"
_SHARED_IMPORT = re.compile(
    r"^import\s*\{[^}]*\}\s*from\s*[\"']\.\./_shared/([\w-]+)\.js[\"'];?[ \t]*$", re.MULTILINE
)
_ALLOWED_DTYPES = ("float32", "float64", "int32", "uint32", "int16", "uint16", "int8", "uint8")


def _assets_root() -> Path:
    """``fmviz/_widgets`` in an installed wheel, else the repository's ``widgets/``."""
    if _PACKAGE_ASSETS.is_dir():
        return _PACKAGE_ASSETS
    if _SOURCE_ASSETS.is_dir():
        return _SOURCE_ASSETS
    raise FileNotFoundError(
        f"fmviz widget files not found in {_PACKAGE_ASSETS} or {_SOURCE_ASSETS}; reinstall fmviz"
    )


def widget_asset(name: str, suffix: str) -> Path:
    """Path of a shipped front-end file, e.g. ``widget_asset("scrubber", ".css")``.

    Examples
    --------
    >>> widget_asset("scrubber", ".js").name
    'scrubber.js'
    """
    path = _assets_root() / name / f"{name}{suffix}"
    if not path.is_file():
        raise FileNotFoundError(f"widget file missing: {path}")
    return path


@cache
def widget_esm(name: str) -> str:
    """The ES module of widget ``name`` with its ``../_shared/*.js`` imports inlined.

    Examples
    --------
    >>> "../_shared/" in widget_esm("embedding_map")
    False
    """
    source = widget_asset(name, ".js").read_text(encoding="utf-8")
    inlined: set[str] = set()

    def inline(match: re.Match[str]) -> str:
        shared = match.group(1)
        if shared in inlined:
            return ""
        inlined.add(shared)
        text = (_assets_root() / "_shared" / f"{shared}.js").read_text(encoding="utf-8")
        if _SHARED_IMPORT.search(text) or re.search(r"^import\s", text, re.MULTILINE):
            raise ValueError(f"widgets/_shared/{shared}.js must not import other modules")
        return f"// --- inlined from widgets/_shared/{shared}.js\n" + re.sub(
            r"^export\s+", "", text, flags=re.MULTILINE
        )

    return _SHARED_IMPORT.sub(inline, source)


@cache
def widget_css(name: str) -> str:
    """The style sheet of widget ``name``, followed by that of each shared helper it imports
    (``widgets/_shared/heatmap.css`` with ``heatmap.js``), so two widgets that draw the same
    heatmap style it from one file.

    Examples
    --------
    >>> ".fmviz-heatmap-card" in widget_css("taxonomy_heatmap")
    True
    """
    parts = [widget_asset(name, ".css").read_text(encoding="utf-8")]
    source = widget_asset(name, ".js").read_text(encoding="utf-8")
    for shared in dict.fromkeys(_SHARED_IMPORT.findall(source)):
        sheet = _assets_root() / "_shared" / f"{shared}.css"
        if sheet.is_file():
            parts.append(f"/* --- from widgets/_shared/{shared}.css */\n" + sheet.read_text(encoding="utf-8"))
    return "\n".join(parts)


class FmvizWidget(anywidget.AnyWidget):
    """Base class: a subclass names its front end with ``_widget_name`` and nothing else.

    Subclasses also get :meth:`_repr_mimebundle_` with a static ``image/png`` beside the
    widget view when they implement :meth:`to_png`, for viewers that run no widget
    JavaScript (GitHub's notebook preview, an untrusted notebook).

    Examples
    --------
    >>> class Hello(FmvizWidget):
    ...     _widget_name = "scrubber"
    >>> "scrubber" in Hello()._esm
    True
    """

    _widget_name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        name = cls.__dict__.get("_widget_name")
        if name:
            cls._esm = widget_esm(name)
            cls._css = widget_css(name)
        super().__init_subclass__(**kwargs)

    def to_png(self) -> bytes | None:
        """A static picture of the widget's state; ``None`` when there is none."""
        return None

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict, dict] | None:
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, metadata = bundle
        png = self.to_png()
        if png:
            data = {**data, "image/png": base64.b64encode(png).decode("ascii")}
        return data, metadata


# ----------------------------------------------------------------------------- typed arrays


def array_to_json(value: np.ndarray | None, widget: Any = None) -> dict[str, Any] | None:
    """Serialise a numpy array as ``{"dtype", "shape", "buffer"}`` (buffer: raw bytes).

    Examples
    --------
    >>> array_to_json(np.arange(3, dtype="float32"))["shape"]
    [3]
    """
    if value is None:
        return None
    array = np.ascontiguousarray(value)
    return {"dtype": str(array.dtype), "shape": list(array.shape), "buffer": memoryview(array.tobytes())}


def array_from_json(value: dict[str, Any] | None, widget: Any = None) -> np.ndarray | None:
    """Inverse of :func:`array_to_json` (the buffer may be bytes or a memoryview).

    Examples
    --------
    >>> array_from_json(array_to_json(np.arange(4, dtype="int32"))).tolist()
    [0, 1, 2, 3]
    """
    if value is None:
        return None
    data = np.frombuffer(bytes(value["buffer"]), dtype=np.dtype(value["dtype"]))
    return data.reshape(value["shape"]).copy()


array_serialization = {"to_json": array_to_json, "from_json": array_from_json}


class TypedArray(traitlets.TraitType):
    """A numpy array trait of one dtype, synced as typed binary.

    Parameters
    ----------
    dtype:
        One of float32, float64, (u)int8/16/32; values are cast to it (a value that cannot be
        cast exactly, like a float into an int array, raises ``TraitError``).

    Examples
    --------
    >>> class Points(traitlets.HasTraits):
    ...     x = TypedArray("float32")
    >>> Points(x=[1, 2]).x.dtype
    dtype('float32')
    """

    info_text = "a numpy array"

    def __init__(self, dtype: str = "float32", **kwargs: Any) -> None:
        if dtype not in _ALLOWED_DTYPES:
            raise ValueError(f"TypedArray dtype must be one of {', '.join(_ALLOWED_DTYPES)}, got {dtype!r}")
        self.dtype = np.dtype(dtype)
        kwargs.setdefault("default_value", np.zeros(0, dtype=self.dtype))
        super().__init__(**kwargs)
        self.tag(sync=True, **array_serialization)

    def validate(self, obj: Any, value: Any) -> np.ndarray:
        array = np.asarray(value)
        if array.dtype != self.dtype:
            lossy = self.dtype.kind in "iu" and array.size and array.dtype.kind == "f"
            if lossy and not (np.all(np.isfinite(array)) and np.all(array == np.round(array))):
                self.error(obj, value)
            array = array.astype(self.dtype)
        return array

    def make_dynamic_default(self) -> np.ndarray:
        return np.zeros(0, dtype=self.dtype)


# ----------------------------------------------------------------------------- frames & sizes


def jpeg_bytes(frame: np.ndarray | PILImage.Image, max_side: int | None = None, quality: int = 80) -> bytes:
    """Encode an ``(H, W, 3)`` uint8 frame (or PIL image) as JPEG, fitted to ``max_side``.

    Examples
    --------
    >>> jpeg_bytes(np.zeros((8, 8, 3), dtype=np.uint8))[:2]
    b'\\xff\\xd8'
    """
    image = frame if isinstance(frame, PILImage.Image) else PILImage.fromarray(np.asarray(frame, np.uint8))
    if image.mode != "RGB":
        image = image.convert("RGB")
    if max_side and max(image.size) > max_side:
        image = image.copy()
        image.thumbnail((max_side, max_side), PILImage.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=int(quality))
    return buffer.getvalue()


def saved_size(widget: ipywidgets.Widget) -> int:
    """Bytes the widget's state adds to a saved notebook: JSON plus base64 buffers.

    This is the figure every payload budget is measured against (a saved notebook stores
    binary buffers base64-encoded, 4/3 of their size).

    Examples
    --------
    >>> saved_size(ipywidgets.Label("hi")) > 0
    True
    """
    state = widget._get_embed_state(drop_defaults=False)
    return len(json.dumps(state, separators=(",", ":")).encode("utf-8"))


def link(
    source: ipywidgets.Widget, source_trait: str, target: ipywidgets.Widget, target_trait: str
) -> ipywidgets.Widget:
    """Link two views in the browser: ``target.target_trait`` follows ``source.source_trait``.

    A thin name for :func:`ipywidgets.jsdlink`. The link is a widget of its own, saved with
    the notebook and run by the browser (JupyterLab, or fmviz's export runtime), so it works
    with no kernel and in exported HTML.

    Examples
    --------
    >>> a, b = ipywidgets.IntSlider(), ipywidgets.IntSlider()
    >>> type(link(a, "value", b, "value")).__name__
    'DirectionalLink'
    """
    for widget, trait in ((source, source_trait), (target, target_trait)):
        if not widget.has_trait(trait) or not widget.trait_metadata(trait, "sync"):
            raise ValueError(f"{type(widget).__name__} has no synced trait {trait!r} to link")
    return ipywidgets.jsdlink((source, source_trait), (target, target_trait))
