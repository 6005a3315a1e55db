"""The shared widget base: shipped front-end files, typed binary arrays, sizes and links."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import ipywidgets
import numpy as np
import pytest
import traitlets

from fmviz.views._widget import (
    TypedArray,
    array_from_json,
    array_to_json,
    jpeg_bytes,
    link,
    saved_size,
    widget_asset,
    widget_esm,
)

ROOT = Path(__file__).resolve().parent.parent


class _Holder(traitlets.HasTraits):
    values = TypedArray("int32")


def test_typed_arrays_round_trip_with_dtype_and_shape():
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    encoded = array_to_json(array)
    assert encoded["dtype"] == "float32"
    assert encoded["shape"] == [3, 4]
    assert len(bytes(encoded["buffer"])) == 48
    assert np.array_equal(array_from_json(encoded), array)


def test_typed_array_casts_exact_values_and_refuses_lossy_ones():
    holder = _Holder(values=[1.0, 2.0])
    assert holder.values.dtype == np.int32
    with pytest.raises(traitlets.TraitError):
        _Holder(values=[1.5])
    with pytest.raises(ValueError, match="dtype must be one of"):
        TypedArray("complex64")


def test_shared_imports_are_inlined_into_the_module_anywidget_loads():
    source = widget_asset("embedding_map", ".js").read_text(encoding="utf-8")
    assert 'from "../_shared/arrays.js"' in source
    esm = widget_esm("embedding_map")
    assert "../_shared/" not in esm
    assert "function decodeArray(" in esm
    assert "export function" not in esm.split("export default")[0]


def test_a_shared_helpers_style_sheet_comes_with_it_once_and_only_to_its_importers():
    from fmviz.views._widget import widget_css
    from fmviz.views.ensemble_view import EnsembleView
    from fmviz.views.taxonomy_heatmap import TaxonomyHeatmap

    for view in (TaxonomyHeatmap, EnsembleView):  # both draw with widgets/_shared/heatmap.js
        assert view._css.count(".fmviz-heatmap-card {") == 1
        assert ".fmviz-heatmap-card-note" in view._css
    assert ".fmviz-heatmap" not in widget_css("scrubber")  # imports no heatmap


def test_saved_size_counts_buffers_as_base64():
    class Blob(ipywidgets.DOMWidget):
        data = traitlets.Bytes(b"").tag(sync=True)

    small, big = Blob(data=b""), Blob(data=b"x" * 30_000)
    assert 40_000 <= saved_size(big) - saved_size(small) <= 40_100


def test_jpeg_bytes_fit_the_longest_side():
    from io import BytesIO

    from PIL import Image

    data = jpeg_bytes(np.zeros((100, 400, 3), np.uint8), max_side=200)
    assert Image.open(BytesIO(data)).size == (200, 50)


def test_link_refuses_a_trait_that_does_not_sync():
    a, b = ipywidgets.IntSlider(), ipywidgets.IntSlider()
    with pytest.raises(ValueError, match="no synced trait 'nope'"):
        link(a, "nope", b, "value")


@pytest.mark.slow
def test_the_wheel_ships_every_widget_module_and_stylesheet(tmp_path: Path):
    pip = [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run([*pip, "-w", str(tmp_path)], check=True)
    wheel = next(tmp_path.glob("fmviz-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        f"fmviz/_widgets/{p.relative_to(ROOT / 'widgets').as_posix()}"
        for p in (ROOT / "widgets").rglob("*")
        if p.suffix in (".js", ".css")
    }
    assert "fmviz/_widgets/scrubber/scrubber.js" in expected
    assert expected <= names
