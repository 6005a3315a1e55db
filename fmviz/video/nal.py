"""Which H.264 packets no other frame refers to, read from the NAL headers (no decoding).

A picture whose slices all have ``nal_ref_idc == 0`` is never used to predict another
picture (H.264 7.4.1), so a decoder that drops it produces every other frame bit for bit
as before; FFmpeg's own ``skip_frame=NONREF`` relies on the same rule. In footage with
B-frames about half the pictures are such, so the tail decoder drops those it does not
keep. Both packet layouts are read: length-prefixed NAL units (MP4, MOV, MKV: ``avcC``
extradata) and start codes (MPEG-TS, Annex B). Anything else is "not known disposable".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["disposable_checker"]

#: NAL unit types that carry a coded slice (1: non-IDR, 5: IDR; 2-4: data partitions).
_SLICES = frozenset({1, 2, 3, 4, 5})


def disposable_checker(stream: Any) -> Callable[[bytes], bool] | None:
    """A function ``packet bytes -> bool`` (True: no frame refers to it), or None.

    None when the stream is not H.264. All slices of a picture share ``nal_ref_idc``
    (H.264 7.4.1), so the first slice header decides; a packet whose layout is not
    recognised counts as referenced (decoded).
    """
    codec = stream.codec_context
    if codec.name != "h264":
        return None
    extradata = bytes(codec.extradata or b"")
    if len(extradata) >= 7 and extradata[0] == 1:  # avcC: NAL units prefixed by their length
        size = (extradata[4] & 3) + 1
        return lambda data: _unreferenced(_length_prefixed(data, size))
    return lambda data: _unreferenced(_start_coded(data))


def _unreferenced(header: int | None) -> bool:
    return header is not None and header & 0x60 == 0


def _length_prefixed(data: bytes, size: int) -> int | None:
    """The NAL header of the first slice among length-prefixed NAL units."""
    position = 0
    while position + size < len(data):
        length = int.from_bytes(data[position : position + size], "big")
        if length == 0 or position + size + length > len(data):
            return None  # not this layout after all
        header = data[position + size]
        if header & 0x1F in _SLICES:
            return header
        position += size + length
    return None


def _start_coded(data: bytes) -> int | None:
    """The NAL header of the first slice after a ``00 00 01`` start code (Annex B)."""
    position = data.find(b"\x00\x00\x01")
    while position != -1 and position + 3 < len(data):
        header = data[position + 3]
        if header & 0x1F in _SLICES:
            return header
        position = data.find(b"\x00\x00\x01", position + 3)
    return None
