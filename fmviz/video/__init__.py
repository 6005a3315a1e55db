"""Observation downsampling: the few frames of each failure that a multimodal model sees.

The paper represents a failure sequence ``o_1..o_K`` by its tail: the final ``T`` frames,
sampled at a reduced frame rate from the window that ends at the failure frame ``o_K``.
This package turns any episode source (a video file, a folder of images, an in-memory
array) into such a :class:`Clip`, resized to a maximum side, and encodes it for a model:

* :mod:`~fmviz.video.clip`: :class:`TailSpec`, :class:`Clip` and the selection rule;
* :mod:`~fmviz.video.tail`: :func:`select_tail` over every kind of source, with input warnings;
* :mod:`~fmviz.video.decode`: seek-only video decoding, converted and resized in one step;
* :mod:`~fmviz.video.encode`: JPEG/PNG for models, thumbnails and data URIs for views;
* :mod:`~fmviz.video.files`: folders of images, writing and probing videos, source checks.

Examples
--------
>>> from fmviz.video import TailSpec, encode_frames, select_tail
>>> clip = select_tail(episode, TailSpec(frames=8, fps=2, max_side=512))   # doctest: +SKIP
>>> images = encode_frames(clip)                                           # doctest: +SKIP
"""

from __future__ import annotations

from fmviz.video.clip import Clip, TailSpec, fit, fitted_size
from fmviz.video.decode import decoder_threads
from fmviz.video.encode import data_uri, encode_frames, thumbnails
from fmviz.video.files import (
    IMAGE_EXTENSIONS,
    VIDEO_EXTENSIONS,
    check_sources,
    image_files,
    natural_key,
    probe,
    write_video,
)
from fmviz.video.tail import frame_number_gaps, select_tail

__all__ = [
    "IMAGE_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "Clip",
    "TailSpec",
    "check_sources",
    "data_uri",
    "decoder_threads",
    "encode_frames",
    "fit",
    "fitted_size",
    "frame_number_gaps",
    "image_files",
    "natural_key",
    "probe",
    "select_tail",
    "thumbnails",
    "write_video",
]
