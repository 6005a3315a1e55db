"""Tail selection from any source: a video file, a folder of images, one image, an array.

:func:`select_tail` is the one entry point; videos go to :mod:`fmviz.video.decode`, the
rest is read here. Input that is usable but not what it seems is said out loud as an
:class:`~fmviz.errors.InputWarning` naming the episode: a clip shorter than the requested
tail (a 0.5 s clip gives 1 frame, not 8), or an image sequence with missing frame numbers
(timed as if it were continuous).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from fmviz.episodes import Episode, EpisodeError
from fmviz.errors import InputWarning
from fmviz.video.clip import Clip, TailSpec, build_clip, pick_indices, resolve_failure_index
from fmviz.video.decode import from_video
from fmviz.video.files import IMAGE_EXTENSIONS, image_files

__all__ = ["frame_number_gaps", "select_tail"]

_NUMBER = re.compile(r"(\d+)(?!.*\d)")


def select_tail(episode: Episode, spec: TailSpec | None = None) -> Clip:
    """Downsample the tail of an episode's frames ending at its failure frame.

    Parameters
    ----------
    episode:
        The episode; its ``source`` is a video path, an image folder, a single image, or a
        ``(K, H, W, 3)`` / ``(K, H, W)`` uint8 array, or a robot log (``.mcap``, ``.bag``,
        a LeRobot video segment; read by :mod:`fmviz.logs`). ``failure_frame`` / ``failure_time``
        mark the failure (both ``None`` -> last frame); ``fps`` is the frame rate of image
        folders and arrays (without it, their frames are taken as already sampled at
        ``spec.fps``), and a fallback for videos without timing.
    spec:
        Frames, rate and size of the result (default ``TailSpec()``).

    Returns
    -------
    Clip
        ``spec.frames`` frames or, when the source is shorter, all that exist
        (``short=True``).

    Raises
    ------
    EpisodeError
        Missing or unreadable source, no frames, failure point beyond the end.
    """
    spec = spec or TailSpec()
    source = episode.source
    if source is None:
        raise EpisodeError(episode.id, "has no frames to select (source is None: a text-only episode)")
    if isinstance(source, np.ndarray):
        clip = _from_array(episode, source, spec)
        _warn_short(episode, clip, spec)
        return clip
    from fmviz.logs.dispatch import read_log_tail  # MCAP, ROS bags, LeRobot segments

    clip = read_log_tail(episode, spec)
    if clip is not None:
        _warn_short(episode, clip, spec)
        return clip
    path = Path(source)
    if not path.exists():
        raise EpisodeError(episode.id, f"source not found: {path}")
    if path.is_dir():
        files = image_files(path)
        _warn_gaps(episode, files, path)
        clip = _from_image_files(episode, files, spec, where=path)
    elif path.suffix.lower() in IMAGE_EXTENSIONS:
        clip = _from_image_files(episode, [path], spec, where=path)
    else:
        clip = from_video(episode, path, spec)
    _warn_short(episode, clip, spec)
    return clip


def _from_array(episode: Episode, array: np.ndarray, spec: TailSpec) -> Clip:
    where = f"the in-memory array {tuple(array.shape)}"
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4 or array.shape[-1] not in (1, 3, 4):
        raise EpisodeError(episode.id, f"expected a (K, H, W, 3) or (K, H, W) array, got {where}")
    if array.dtype != np.uint8:
        raise EpisodeError(episode.id, f"expected uint8 frames, got {array.dtype} in {where}")
    if array.shape[0] == 0:
        raise EpisodeError(episode.id, f"{where} has no frames")
    fps = float(episode.fps) if episode.fps else None
    fail_index = resolve_failure_index(episode, array.shape[0], fps, where)
    picked, short = pick_indices(fail_index, spec, fps)
    images = [_to_rgb_image(array[i]) for i in picked]
    return build_clip(episode, images, picked, fps or spec.fps, fps, len(picked), short, spec)


def _from_image_files(episode: Episode, files: Sequence[Path], spec: TailSpec, where: Path) -> Clip:
    if not files:
        raise EpisodeError(episode.id, f"no images ({', '.join(IMAGE_EXTENSIONS)}) in folder {where}")
    fps = float(episode.fps) if episode.fps else None
    fail_index = resolve_failure_index(episode, len(files), fps, where)
    picked, short = pick_indices(fail_index, spec, fps)
    images = []
    for index in picked:
        try:
            with PILImage.open(files[index]) as image:
                images.append(_to_rgb_image(image))
        except (OSError, UnidentifiedImageError, ValueError) as error:
            raise EpisodeError(episode.id, f"cannot read image {files[index]}: {error}") from error
    return build_clip(episode, images, picked, fps or spec.fps, fps, len(picked), short, spec)


def _to_rgb_image(frame: np.ndarray | PILImage.Image) -> PILImage.Image:
    if isinstance(frame, PILImage.Image):
        image = frame
    else:
        image = PILImage.fromarray(frame[..., 0] if frame.shape[-1] == 1 else frame)
    if image.mode != "RGB":
        image = image.convert("RGB")
    image.load()
    return image


def frame_number_gaps(files: Sequence[Path]) -> list[int]:
    """Frame numbers missing between the first and last numbered file of a sequence.

    Files are numbered by the last run of digits in their name; a sequence where some
    name has no number, or the numbers are not increasing, is not judged (empty list).

    Examples
    --------
    >>> frame_number_gaps([Path("f_0001.png"), Path("f_0002.png"), Path("f_0005.png")])
    [3, 4]
    """
    numbers = []
    for file in files:
        match = _NUMBER.search(file.stem)
        if match is None:
            return []
        numbers.append(int(match.group(1)))
    if any(b <= a for a, b in pairwise(numbers)):
        return []
    return [n for a, b in pairwise(numbers) for n in range(a + 1, b)]


def _warn_gaps(episode: Episode, files: Sequence[Path], where: Path) -> None:
    missing = frame_number_gaps(files)
    if missing:
        shown = ", ".join(map(str, missing[:5])) + (", ..." if len(missing) > 5 else "")
        warnings.warn(
            f"episode {episode.id!r}: the image sequence {where} has {len(missing)} missing frame "
            f"number(s) ({shown}); its frames are timed as if the sequence were continuous",
            InputWarning,
            stacklevel=3,
        )


def _warn_short(episode: Episode, clip: Clip, spec: TailSpec) -> None:
    if clip.short:
        span = float(clip.source_times[-1]) if len(clip.source_times) else 0.0
        warnings.warn(
            f"episode {episode.id!r}: only {len(clip)} of {spec.frames} tail frame(s) exist before the "
            f"failure ({span:.2f} s of recording at {spec.fps:g} fps); the model sees {len(clip)}",
            InputWarning,
            stacklevel=3,
        )
