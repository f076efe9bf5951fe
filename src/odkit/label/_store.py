"""The dataset behind ``odkit label``: per-image boxes as JSON, and saves back into the dataset's own files.

Boxes travel as ``{"x0", "y0", "x1", "y1", "cls", "src", "difficult", "truncated", "iscrowd"}``: absolute
continuous xyxy pixels (odkit's convention), ``cls`` a class name, ``src`` the index of the object it was
loaded as (None for a new box) so that per-object fields the page does not show survive a save.

Every save is checked against a version (the SHA-256 of the annotation file when it was loaded; ``"absent"``
for a file not yet written): a file changed on disk since is never overwritten (``Conflict``). Per-image
formats (VOC, YOLO, LabelMe) rewrite only that image's file; single-file formats (COCO, CSV, CVAT) rewrite
their one file. Each write goes to a temporary file in the same folder and is moved over with ``os.replace``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from odkit.boxes import GroundTruth
from odkit.io import Category, Dataset, check_dataset, label_path
from odkit.io._common import WriteReport
from odkit.io._voc import voc_xml
from odkit.label._assist import AssistError, ModelAssist, disagreement
from odkit.label._errors import Conflict, Forbidden, LabelError, NotFound
from odkit.label._formats import labelme_edit, labelme_new, voc_edit, yolo_text

PER_IMAGE = ("voc", "yolo", "labelme")
SINGLE_FILE = ("coco", "csv", "cvat")


def file_version(path: Path) -> str:
    """SHA-256 of the file's bytes; ``"absent"`` when there is no file."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return "absent"


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``.

    A crash (or an error) at any point leaves the old file or the new one, never a torn one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == r or r in path.parents for r in roots)


class LabelStore:
    """One dataset opened for labelling; thread-safe (one lock around reads and saves).

    Args:
        dataset: as read by ``odkit.io.read_annotations`` (``strict=False`` is fine: files whose objects
            were skipped on read are refused on save, so nothing unread is dropped).
        dataset_path: the DATASET argument; with ``dataset.root`` it bounds which files are served.
        extra_classes: class names offered besides the dataset's (``--classes``).
        reread: reads the dataset again (as it was read for ``dataset``); used when an annotation file
            changed on disk since, so the page shows what the file holds now. Without it such an image keeps
            the boxes first read and its saves answer ``Conflict``.
        assist: a model's proposals (``--model``); None shows none, and the API is as without it.
        roots: further folders whose files may be served and written (``--to``: the output folder, and the
            source images its symlinks lead to).
    """

    def __init__(self, dataset: Dataset, dataset_path: Path, extra_classes: list[str] | None = None,
                 reread: Callable[[], Dataset] | None = None, assist: ModelAssist | None = None,
                 roots: list[Path] | None = None) -> None:
        self.fmt = str(dataset.source.get("format", ""))
        if self.fmt not in PER_IMAGE + SINGLE_FILE:
            raise LabelError(f"{dataset_path}: cannot save into format {self.fmt!r}; expected one of "
                             f"{list(PER_IMAGE + SINGLE_FILE)}")
        base = dataset_path.resolve()
        self.roots = [base if base.is_dir() else base.parent]
        if dataset.root is not None:
            self.roots.append(Path(dataset.root).resolve())
        self.roots += [Path(r).resolve() for r in roots or []]
        cats = list(dataset.categories)
        known = {c.name for c in cats}
        next_id = max((c.id for c in cats), default=-1 if self.fmt == "yolo" else 0) + 1
        for name in extra_classes or []:
            if name not in known:
                if self.fmt == "yolo":
                    raise LabelError(f"{dataset_path}: class {name!r} is not in the YOLO data.yaml names "
                                     f"{sorted(known)}; add it there first")
                cats.append(Category(next_id, name))
                known.add(name)
                next_id += 1
        self.ds = replace(dataset, categories=tuple(cats))
        self.names = [c.name for c in self.ds.categories]
        self.name_to_id = {c.name: c.id for c in self.ds.categories}
        self.lock = threading.Lock()
        self.findings: dict[int | str, list[str]] = {}
        self._reread = reread
        self.assist = assist
        self.addable: list[str] = []  # model classes the dataset lacks, added on the first save using one
        self.not_addable: dict[str, str] = {}  # model classes the format cannot add -> why
        self._set_skipped(dataset)
        # annotation file -> the version the boxes in memory were read from
        self.loaded = {str(p): file_version(p) for p in {self.annotation_path(k) for k in range(len(self.ds.images))}}
        self._recheck()

    def _set_skipped(self, dataset: Dataset) -> None:
        """Files with objects the reader skipped: a save would drop them, so it is refused."""
        self._skipped_files = {str(Path(i.file).resolve()) for i in dataset.issues
                               if i.file and (i.severity == "error" or i.code == "unsupported_shape")}

    def _refresh(self, index: int) -> str:
        """The version of image ``index``'s file whose boxes are in memory; re-read when the file changed."""
        path = self.annotation_path(index)
        disk = file_version(path)
        if disk == self.loaded.get(str(path)) or self._reread is None:
            return self.loaded.get(str(path), disk)
        fresh = self._reread()
        if [im.file_name for im in fresh.images] != [im.file_name for im in self.ds.images]:
            raise LabelError(f"{path}: the dataset's images changed on disk; restart odkit label")
        by_name = {c.id: c.name for c in fresh.categories}
        im, new = self.ds.images[index], fresh.annotations[fresh.images[index].id]
        unknown = sorted({by_name[int(c)] for c in new.class_ids} - set(self.name_to_id))
        if unknown:
            raise LabelError(f"{path}: now holds classes {unknown} not offered; restart odkit label")
        new = replace(new, class_ids=np.array([self.name_to_id[by_name[int(c)]] for c in new.class_ids], np.int64))
        self.ds = replace(self.ds, annotations={**self.ds.annotations, im.id: new})
        self._set_skipped(fresh)
        self.loaded[str(path)] = file_version(path) if disk == "absent" else disk
        self._recheck()
        return self.loaded[str(path)]

    # ---- reading

    def _recheck(self) -> None:
        report = check_dataset(self.ds, check_images=False, progress=False)
        self.findings = {k: [str(i) for i in v if i.code != "no_annotations"] for k, v in report.by_image.items()}

    def annotation_path(self, index: int) -> Path:
        """The one file a save of image ``index`` writes."""
        im = self._image(index)
        if self.fmt == "yolo":
            return label_path(self.ds.image_path(im)) if not im.annotation_file else Path(im.annotation_file)
        if im.annotation_file:
            return Path(im.annotation_file)
        if self.fmt in SINGLE_FILE:
            return Path(str(self.ds.source["path"]))
        raise LabelError(f"{im.file_name}: no annotation file is known for this image")

    def _image(self, index: int) -> Any:
        if not 0 <= index < len(self.ds.images):
            raise NotFound(f"no image {index}; the dataset has {len(self.ds.images)}")
        return self.ds.images[index]

    def summary(self, predict_all: bool = False) -> dict[str, Any]:
        """The image list: index, id, file, box count, finding count; with a model, each image's
        ``disagreement`` (None until predicted; ``predict_all`` predicts every image first)."""
        error = None
        if self.assist is not None and predict_all:
            try:
                self.assist.predict(self._image_items())
            except AssistError as exc:
                error = str(exc)
        with self.lock:
            rows = [{"index": k, "id": im.id, "file": im.file_name, "boxes": len(self.ds.annotations[im.id]),
                     "findings": len(self.findings.get(im.id, []))} for k, im in enumerate(self.ds.images)]
            out: dict[str, Any] = {"format": self.fmt, "classes": self.offered(), "images": rows}
            if self.assist is not None:
                for k, row in enumerate(rows):
                    row["disagreement"] = self._disagreement(k)
                a = self.assist
                out["model"] = {"name": a.name, "conf": a.conf, "pending": a.pending(len(rows)),
                                "error": error or a.error or a.background_error}
            return out

    # ---- model proposals

    def _image_items(self) -> list[tuple[int, Path]]:
        return [(k, self.ds.image_path(im)) for k, im in enumerate(self.ds.images)]

    def offered(self) -> list[str]:
        """The class names the page offers: the dataset's, then model classes it can add."""
        return self.names + [n for n in self.addable if n not in self.name_to_id]

    def _map_model_classes(self) -> None:
        """Match the model's class names to the dataset's (call with the lock held, the model loaded)."""
        names = self.assist.class_names() if self.assist is not None else []
        for name in names:
            if name in self.name_to_id or name in self.addable or name in self.not_addable:
                continue
            if self.fmt == "yolo":
                self.not_addable[name] = (f"class {name!r} is not in the YOLO data.yaml names {self.names}; "
                                          "add it there (and restart) to accept these boxes")
            else:
                self.addable.append(name)

    def _disagreement(self, index: int) -> dict[str, int] | None:
        pred = self.assist.cached(index) if self.assist is not None else None
        if pred is None:
            return None
        ann = self.ds.annotations[self.ds.images[index].id]
        names = self.ds.category_names
        return disagreement(ann.boxes_xyxy, [names.get(int(c), str(c)) for c in ann.class_ids.tolist()],
                            pred[0], pred[2], pred[1])

    def _proposals(self, index: int, error: str | None) -> dict[str, Any]:
        pred = self.assist.cached(index) if self.assist is not None else None
        if pred is None:
            return {"proposals": [], "disagreement": None,
                    "model_error": error or (self.assist.error if self.assist is not None else None)}
        self._map_model_classes()
        boxes, scores, classes = pred
        proposals = [{"id": j, "x0": b[0], "y0": b[1], "x1": b[2], "y1": b[3], "cls": c, "score": s,
                      "acceptable": c not in self.not_addable, "note": self.not_addable.get(c)}
                     for j, (b, s, c) in enumerate(zip(boxes.tolist(), scores.tolist(), classes))]
        return {"proposals": proposals, "disagreement": self._disagreement(index), "model_error": error}

    def image(self, index: int) -> dict[str, Any]:
        """One image's boxes, class names and the version to save against; with a model, its proposals
        (predicted now if not yet) and the image's disagreement."""
        error = None
        if self.assist is not None:
            try:
                self.assist.predict([(index, self.ds.image_path(self._image(index)))])
            except AssistError as exc:
                error = str(exc)
        with self.lock:
            im = self._image(index)
            version = self._refresh(index)
            ann = self.ds.annotations[im.id]
            names = self.ds.category_names
            boxes = [{"x0": b[0], "y0": b[1], "x1": b[2], "y1": b[3], "cls": names.get(int(c), str(c)),
                      "src": j, "difficult": bool(d), "truncated": bool(t), "iscrowd": bool(cr)}
                     for j, (b, c, d, t, cr) in enumerate(zip(ann.boxes_xyxy.tolist(), ann.class_ids.tolist(),
                                                            ann.difficult, ann.truncated, ann.iscrowd))]
            out = {"index": index, "id": im.id, "file": im.file_name, "width": im.width, "height": im.height,
                   "classes": self.names, "boxes": boxes, "version": version,
                   "findings": self.findings.get(im.id, [])}
            if self.assist is not None:
                out.update(self._proposals(index, error))
                out["classes"] = self.offered()
            return out

    def image_file(self, index: int) -> Path:
        """The image's file, resolved; ``Forbidden`` when it (or a symlink) leads outside the dataset."""
        im = self._image(index)
        return self.resolve_inside(self.ds.image_path(im))

    def resolve_inside(self, path: Path) -> Path:
        """``path`` resolved (symlinks followed); ``Forbidden`` outside the dataset, ``NotFound`` if missing."""
        try:
            real = path.resolve(strict=True)
        except (FileNotFoundError, RuntimeError):
            raise NotFound(f"{path}: no such file") from None
        if not _inside(real, self.roots) or not real.is_file():
            raise Forbidden(f"{path}: outside the dataset")
        return real

    # ---- saving

    def _categories_for(self, boxes: Any) -> tuple[tuple[Category, ...], dict[str, int]]:
        """The dataset's categories plus the model classes ``boxes`` use that it lacks (``addable``)."""
        cats, ids = list(self.ds.categories), dict(self.name_to_id)
        for b in boxes if isinstance(boxes, list) else []:
            name = b.get("cls") if isinstance(b, dict) else None
            if isinstance(name, str) and name not in ids and name in self.addable:
                cats.append(Category(max((c.id for c in cats), default=0) + 1, name))
                ids[name] = cats[-1].id
        return tuple(cats), ids

    def _parse_boxes(self, index: int, boxes: Any, name_to_id: dict[str, int]) -> tuple[GroundTruth, list[int | None]]:
        im = self._image(index)
        old = self.ds.annotations[im.id]
        if not isinstance(boxes, list):
            raise LabelError("expected 'boxes' to be a list of {x0, y0, x1, y1, cls} objects")
        rows, ids, srcs = [], [], []
        for k, b in enumerate(boxes):
            try:
                xyxy = [float(b[key]) for key in ("x0", "y0", "x1", "y1")]
                name = str(b["cls"])
            except (KeyError, TypeError, ValueError):
                raise LabelError(f"box {k}: expected numbers x0, y0, x1, y1 and a class name cls; got {b!r}") from None
            if not all(np.isfinite(xyxy)) or xyxy[2] < xyxy[0] or xyxy[3] < xyxy[1]:
                raise LabelError(f"box {k}: expected finite x0 <= x1, y0 <= y1; got {xyxy}")
            if name not in name_to_id:
                hint = f"; {self.not_addable[name]}" if name in self.not_addable else ""
                raise LabelError(f"box {k}: class {name!r} is not one of {self.offered()}{hint}")
            src = b.get("src")
            if src is not None and (not isinstance(src, int) or not 0 <= src < len(old)):
                raise LabelError(f"box {k}: src {src!r} is not an object of this image (0..{len(old) - 1})")
            rows.append(xyxy)
            ids.append(name_to_id[name])
            srcs.append(src)

        def column(field: str, default: Any) -> list[Any]:
            return [getattr(old, field)[s] if s is not None else default for s in srcs]

        return GroundTruth(np.array(rows, np.float64).reshape(-1, 4), np.array(ids, np.int64),
                           iscrowd=np.array(column("iscrowd", False), bool),
                           difficult=np.array(column("difficult", False), bool),
                           truncated=np.array(column("truncated", False), bool),
                           ann_ids=np.array(column("ann_ids", -1), np.int64),
                           extras=tuple(column("extras", {}))), srcs

    def save(self, index: int, version: str, boxes: Any) -> dict[str, Any]:
        """Write image ``index``'s boxes into its annotation file.

        Raises:
            Conflict: the file changed on disk since ``version``; nothing is written.
            LabelError: boxes the format cannot hold (the message says which), or malformed input.
        """
        with self.lock:
            im = self._image(index)
            path = self.annotation_path(index)
            if not _inside(path.resolve(), self.roots):
                raise Forbidden(f"{path}: annotation file outside the dataset; not written")
            if str(path.resolve()) in self._skipped_files:
                raise LabelError(f"{path}: odkit could not read part of this file (see the findings); "
                                 "fix it by hand first, saving would drop what was not read")
            current = file_version(path)
            if current != version:
                raise Conflict(f"{path} changed on disk since this image was loaded; not saved; your edits "
                               "are still in the page")
            cats, name_to_id = self._categories_for(boxes)
            ann, srcs = self._parse_boxes(index, boxes, name_to_id)
            new_ds = replace(self.ds, categories=cats, annotations={**self.ds.annotations, im.id: ann})
            data = self._render(new_ds, index, path, ann, srcs)
            atomic_write(path, data)
            self.ds = new_ds
            self.names, self.name_to_id = [c.name for c in cats], name_to_id
            self._recheck()
            new_version = file_version(path)
            self.loaded[str(path)] = new_version
            out = {"version": new_version, "boxes": len(ann), "file": str(path),
                   "findings": self.findings.get(im.id, [])}
            if self.assist is not None:
                out["disagreement"] = self._disagreement(index)
            return out

    def _refuse_skips(self, report: WriteReport, im: Any) -> None:
        lost = [i for i in report.issues if i.file in (im.file_name, im.path) and i.code != "rounded"]
        if lost:
            what = "; ".join(f"{i.where}: {i.message}" for i in lost[:5])
            raise LabelError(f"the {self.fmt} file cannot hold this image's boxes as they are ({what}); not saved")

    def _render(self, ds: Dataset, index: int, path: Path, ann: GroundTruth, srcs: list[int | None]) -> bytes:
        im = ds.images[index]
        if self.fmt == "voc":
            report = WriteReport("voc", str(path))
            voc_xml(im, ann, ds.category_names, report)  # what VOC cannot hold, as the writer sees it
            self._refuse_skips(report, im)
            return voc_edit(path, im, ann, srcs, ds.category_names)
        if self.fmt == "yolo":
            return yolo_text(im, ann, ds)
        if self.fmt == "labelme":
            if not path.is_file():
                return labelme_new(path, ds.image_path(im), im, ann, ds.category_names)
            return labelme_edit(path, ann, srcs, ds.category_names)
        return self._single_file(ds, path, im)

    def _single_file(self, ds: Dataset, path: Path, im: Any) -> bytes:
        from odkit.io import write_coco, write_csv, write_cvat

        if self.fmt == "coco" and ds.splits and len({i.annotation_file for i in ds.images}) > 1:
            raise LabelError("COCO datasets split over several files are not saved by odkit label yet")
        part = replace(ds, splits={})
        with tempfile.TemporaryDirectory(dir=path.parent, prefix=".odkit-label-") as tmp:
            out = Path(tmp) / path.name
            writer = {"coco": write_coco, "csv": write_csv, "cvat": write_cvat}[self.fmt]
            report = writer(part, out)
            self._refuse_skips(report, im)
            return out.read_bytes()
