"""What ``predict`` reads images from: image files, folders, globs, list files, videos, arrays and datasets.

:func:`resolve_source` looks at a source once (lists the folder, expands the glob, reads the list file or
the dataset's annotations, checks that every file named exists) and returns a :class:`ResolvedSource` that
yields one :class:`SourceItem` per image or video frame, decoding each only when it is reached: a video is
read frame by frame and never held in memory.

How a path is read:

- a file whose extension is a video's (:data:`VIDEO_EXTENSIONS`): its frames, through OpenCV;
- a ``.txt`` file: a list file, one path per line relative to the list file's folder (or absolute), blank
  lines and ``#`` comments skipped; each entry an image or a video;
- an annotation file (``.json``, ``.xml``, ``.yaml``, ``.yml``, ``.csv``): the dataset ``odkit.io`` reads
  from it, its images with their image ids;
- a folder holding image files: those images, in natural name order (``img2`` before ``img10``); a folder
  of plain images stays one, even when annotations lie beside them. A folder with no image file directly
  in it that ``odkit.io`` reads as a dataset (a YOLO root with ``data.yaml``, a VOC root, a COCO folder):
  that dataset;
- a path that does not exist but holds ``*``, ``?`` or ``[``: a glob pattern (``**`` recursive), its
  images and videos in natural order of their paths (matched files that are neither are left out);
- any other existing file: an image.

Images are decoded as ``odkit.data`` decodes training images (``load_image(..., exif_transpose=True)``),
so boxes are in the pixels a viewer shows.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from odkit.errors import DatasetError
from odkit.io._common import IMAGE_EXTENSIONS, is_image_file, natural_key

#: Extensions read as videos (through ``cv2.VideoCapture``).
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
#: Extensions of annotation files read as a dataset (``odkit.io.read_annotations``).
ANNOTATION_EXTENSIONS = (".json", ".xml", ".yaml", ".yml", ".csv")
#: What a source may be, for error messages.
SOURCE_KINDS = ("an image path, a folder, a glob pattern, a list file (.txt), a video, an (H, W, 3) or "
                "(N, H, W, 3) array, a list of those, or a dataset")


@dataclass(frozen=True, eq=False)
class SourceItem:
    """One image (or video frame) of a source.

    Attributes:
        name: the file name (``cells.jpg``), ``clip.mp4#12`` for frame 12 of a video, ``image3.png`` for the
            fourth array of an array source.
        path: the image or video file; None for arrays.
        frame: the frame index (0-based) in the video; None for images.
        image: (H, W, 3) uint8 RGB pixels, EXIF orientation applied; a view of the caller's array when it
            already was one (never modified).
        image_id: the dataset's image id when the source is a dataset, else None.
    """

    name: str
    path: Path | None
    frame: int | None
    image: np.ndarray
    image_id: int | str | None = None


def is_video_file(path: Path) -> bool:
    """True when ``path``'s extension is one of :data:`VIDEO_EXTENSIONS`."""
    return path.suffix.lower() in VIDEO_EXTENSIONS


def as_rgb_uint8(image: Any, where: str) -> np.ndarray:
    """An image as (H, W, 3) uint8 RGB: (H, W) and (H, W, 1) grey are repeated, (H, W, 4) loses its alpha,
    floats with a maximum <= 1 are scaled by 255 (others taken as 0..255), then rounded and clipped.

    Args:
        image: (H, W) or (H, W, C) array with C in 1, 3, 4 (numpy, or anything ``np.asarray`` takes).
        where: names the image in errors (``"x[3]"``).

    Returns:
        the array itself when it already is (H, W, 3) uint8, else a new array.

    Raises:
        ValueError: another shape.
    """
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4) or 0 in arr.shape:
        raise ValueError(f"{where}: an image must have shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); "
                         f"got {arr.shape}")
    if arr.dtype != np.uint8:
        scale = 255.0 if arr.dtype.kind == "f" and float(np.nanmax(arr, initial=0.0)) <= 1.0 else 1.0
        arr = np.clip(np.rint(arr.astype(np.float64) * scale), 0, 255).astype(np.uint8)
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    elif arr.shape[2] == 4:
        arr = np.ascontiguousarray(arr[:, :, :3])
    return arr


def _cv2() -> Any:
    try:
        import cv2
    except ImportError:  # pragma: no cover - opencv-python-headless is a dependency
        raise DatasetError("reading videos needs OpenCV: pip install opencv-python-headless") from None
    return cv2


def video_properties(path: str | os.PathLike[str]) -> tuple[float, int | None, tuple[int, int]]:
    """``(fps, frame_count or None when the container does not say, image_hw)`` of a video file.

    Raises:
        DatasetError: OpenCV cannot open the file.
    """
    cv2 = _cv2()
    cap = cv2.VideoCapture(os.fspath(path))
    try:
        if not cap.isOpened():
            raise DatasetError(f"{os.fspath(path)}: OpenCV cannot open this video")
        fps = float(cap.get(cv2.CAP_PROP_FPS))
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        hw = (int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)), int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)))
    finally:
        cap.release()
    return (fps if np.isfinite(fps) and fps > 0 else 30.0), (count if count > 0 else None), hw


def _read_image(path: Path) -> np.ndarray:
    from odkit.data import load_image

    return load_image(path, 3, exif_transpose=True)


def _video_frames(path: Path) -> Iterator[SourceItem]:
    """The frames of a video, one at a time (RGB)."""
    cv2 = _cv2()
    cap = cv2.VideoCapture(os.fspath(path))
    try:
        if not cap.isOpened():
            raise DatasetError(f"{path}: OpenCV cannot open this video")
        index = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            yield SourceItem(f"{path.name}#{index}", path, index, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            index += 1
        if index == 0:
            raise DatasetError(f"{path}: OpenCV opened this video but read no frame from it")
    finally:
        cap.release()


# One part of a resolved source: ("image", Path) | ("video", Path) | ("array", ndarray, name)
# | ("dataset", odkit.io.Dataset) | ("item", SourceItem).
_Part = tuple[Any, ...]


class ResolvedSource:
    """A source looked at once (see :func:`resolve_source`); iterating it yields :class:`SourceItem`s, decoding
    each image or frame when it is reached. It can be iterated more than once.

    Attributes:
        dataset: the ``odkit.io.Dataset`` when the source is one dataset (its images carry its ids), else None.
    """

    def __init__(self, parts: list[_Part], dataset: Any = None) -> None:
        self._parts = parts
        self.dataset = dataset

    def __iter__(self) -> Iterator[SourceItem]:
        for part in self._parts:
            kind = part[0]
            if kind == "image":
                yield SourceItem(part[1].name, part[1], None, _read_image(part[1]))
            elif kind == "video":
                yield from _video_frames(part[1])
            elif kind == "array":
                yield SourceItem(part[2], None, None, as_rgb_uint8(part[1], part[2]))
            elif kind == "item":
                yield part[1]
            else:
                ds = part[1]
                for im in ds.images:
                    path = ds.image_path(im)
                    yield SourceItem(Path(im.file_name.replace("\\", "/")).name, path, None, _read_image(path), im.id)

    @property
    def length(self) -> int | None:
        """Images plus video frames, None when a video does not give its frame count."""
        total = 0
        for part in self._parts:
            if part[0] == "video":
                count = video_properties(part[1])[1]
                if count is None:
                    return None
                total += count
            elif part[0] == "dataset":
                total += len(part[1].images)
            else:
                total += 1
        return total

    @property
    def videos(self) -> list[Path]:
        """The video files of the source, in order."""
        return [part[1] for part in self._parts if part[0] == "video"]


def resolve_predict_source(x: Any) -> ResolvedSource:
    """:func:`resolve_source` for a model's ``predict``: a source of the wrong type is a ``TypeError`` that says
    what ``predict`` takes."""
    try:
        return resolve_source(x)
    except TypeError as exc:
        raise TypeError(f"predict: {exc}" if isinstance(x, (list, tuple))
                        else f"predict takes {SOURCE_KINDS}; got {type(x).__name__}") from None


def resolve_source(source: Any) -> ResolvedSource:
    """Look at ``source`` once: list folders, expand globs, read list files and datasets, check that the files
    named exist (see the module docstring for how a path is read).

    Args:
        source: an image path, a folder, a glob pattern, a list file (``.txt``), a video, an annotation file
            or dataset folder, an (H, W, 3) or (N, H, W, 3) array (uint8, or floats in 0..1 or 0..255;
            1 or 4 channels are converted), a list of paths / arrays / :class:`SourceItem`, an
            ``odkit.io.Dataset`` or an ``odkit.data.DetectionDataset`` (its images as decoded, without its
            transforms), or a :class:`ResolvedSource`.

    Raises:
        DatasetError: a missing path, an empty folder or glob, a list file entry that does not exist (naming
            the list file and line), a video OpenCV cannot open.
        ValueError: an array of the wrong shape.
        TypeError: anything else.
    """
    if isinstance(source, ResolvedSource):
        return source
    from odkit.data import DetectionDataset
    from odkit.io import Dataset

    if isinstance(source, DetectionDataset):
        source = source.dataset.subset([r.id for r in source.records])
    if isinstance(source, Dataset):
        return ResolvedSource([("dataset", source)], source)
    if isinstance(source, SourceItem):
        return ResolvedSource([("item", source)])
    if isinstance(source, (str, os.PathLike)):
        parts = _path_parts(Path(source), allow_list=True)
        only_dataset = len(parts) == 1 and parts[0][0] == "dataset"
        return ResolvedSource(parts, parts[0][1] if only_dataset else None)
    if isinstance(source, np.ndarray) or hasattr(source, "numpy"):
        arr = np.asarray(source)
        if arr.ndim in (2, 3):
            return ResolvedSource([("array", arr, "image0.png")])
        if arr.ndim == 4:
            return ResolvedSource([("array", arr[i], f"image{i}.png") for i in range(arr.shape[0])])
        raise ValueError(f"images must have shape (H, W, C) or (N, H, W, C); got {arr.shape}")
    if isinstance(source, (list, tuple)):
        parts = []
        for i, entry in enumerate(source):
            if isinstance(entry, (str, os.PathLike)):
                parts += _path_parts(Path(entry), allow_list=False)
            elif isinstance(entry, SourceItem):
                parts.append(("item", entry))
            elif isinstance(entry, np.ndarray) or hasattr(entry, "numpy"):
                parts.append(("array", np.asarray(entry), f"image{i}.png"))
            else:
                raise TypeError(f"source[{i}] must be an image path, an (H, W, 3) array or a SourceItem; got "
                                f"{type(entry).__name__}")
        return ResolvedSource(parts)
    raise TypeError(f"a source must be {SOURCE_KINDS}; got {type(source).__name__}")


def iter_source(source: Any) -> Iterator[SourceItem]:
    """One :class:`SourceItem` per image or video frame of ``source``, in order (see :func:`resolve_source`
    for what a source may be); frames and images are decoded one at a time."""
    return iter(resolve_source(source))


def source_length(source: Any) -> int | None:
    """How many images and video frames ``source`` gives (for progress bars); None when a video does not give
    its frame count."""
    return resolve_source(source).length


def _is_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


def _path_parts(path: Path, allow_list: bool) -> list[_Part]:
    if not path.exists():
        if _is_glob(str(path)):
            return _glob_parts(str(path))
        raise DatasetError(f"{path}: no such image, video, folder or list file")
    if path.is_dir():
        images = sorted((f for f in path.iterdir() if f.is_file() and is_image_file(f)),
                        key=lambda f: natural_key(f.name))
        if images:
            return [("image", f) for f in images]
        dataset = _folder_dataset(path)
        if dataset is None:
            raise DatasetError(f"{path}: no images ({', '.join(IMAGE_EXTENSIONS)}) in this folder, and no "
                               "dataset odkit.io reads")
        return [("dataset", dataset)]
    suffix = path.suffix.lower()
    if suffix in VIDEO_EXTENSIONS:
        return [("video", path)]
    if suffix == ".txt":
        if not allow_list:
            raise DatasetError(f"{path}: a list file inside a list of sources; give its entries instead")
        return _list_file_parts(path)
    if suffix in ANNOTATION_EXTENSIONS:
        from odkit.io import read_annotations

        return [("dataset", read_annotations(path))]
    return [("image", path)]


def _folder_dataset(path: Path) -> Any:
    """The dataset ``odkit.io`` finds in a folder without images, or None when it finds none."""
    from odkit.io import read_annotations
    from odkit.io._layouts import find_layouts

    if not find_layouts(path):
        return None
    return read_annotations(path)


def _glob_parts(pattern: str) -> list[_Part]:
    matched = sorted(glob.glob(pattern, recursive=True), key=natural_key)
    files = [Path(m) for m in matched if Path(m).is_file()]
    parts: list[_Part] = [("video", f) if is_video_file(f) else ("image", f) for f in files
                          if is_video_file(f) or is_image_file(f)]
    if not parts:
        what = f"{len(files)} files, none an image or a video" if files else "nothing"
        raise DatasetError(f"{pattern}: the pattern matches {what}")
    return parts


def _list_file_parts(list_file: Path) -> list[_Part]:
    parts: list[_Part] = []
    base = list_file.parent
    for line_no, line in enumerate(list_file.read_text(encoding="utf-8-sig").splitlines(), 1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        path = Path(entry)
        if not path.is_absolute():
            path = base / path
        if not path.is_file():
            raise DatasetError(f"{list_file}:{line_no}: no such image or video file {entry!r} (looked for {path})")
        parts.append(("video", path) if is_video_file(path) else ("image", path))
    if not parts:
        raise DatasetError(f"{list_file}: the list file names no image or video")
    return parts


def chunks(items: Sequence[Any] | Iterator[Any], n: int) -> Iterator[list[Any]]:
    """Lists of ``n`` consecutive items (the last may be shorter), taken from ``items`` as they come."""
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == n:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
