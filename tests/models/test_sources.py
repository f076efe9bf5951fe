"""odkit.models._sources: every kind of source predict reads (image, folder, glob, list file, video, arrays,
datasets), the errors that name what is wrong, EXIF orientation, and source_length."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")
from PIL import Image  # noqa: E402

from odkit.errors import DatasetError  # noqa: E402
from odkit.io import Category, Dataset, GroundTruth, ImageRecord, read_annotations  # noqa: E402
from odkit.io._coco import write_coco  # noqa: E402
from odkit.models._sources import SourceItem, iter_source, resolve_source, source_length  # noqa: E402


def _image(seed: int, hw: tuple[int, int] = (24, 32)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*hw, 3), dtype=np.uint8)


def _folder(folder: Path, names: list[str]) -> list[np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    images = [_image(i) for i in range(len(names))]
    for name, image in zip(names, images):
        Image.fromarray(image).save(folder / name)
    return images


def _video(path: Path, frames: int, hw: tuple[int, int] = (32, 48)) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 5, (hw[1], hw[0]))
    for k in range(frames):
        writer.write(np.full((*hw, 3), 20 * k, np.uint8))
    writer.release()


def test_image_folder_natural_order_and_other_files_left_out(tmp_path: Path) -> None:
    images = _folder(tmp_path / "imgs", ["b10.png", "b2.png", "a.png"])
    (tmp_path / "imgs" / "notes.md").write_text("not an image")
    items = list(iter_source(tmp_path / "imgs"))
    assert [it.name for it in items] == ["a.png", "b2.png", "b10.png"]
    np.testing.assert_array_equal(items[1].image, images[1])
    assert items[0].path == tmp_path / "imgs" / "a.png" and items[0].frame is None and items[0].image_id is None
    one = list(iter_source(str(tmp_path / "imgs" / "b2.png")))
    assert len(one) == 1 and one[0].image.dtype == np.uint8 and one[0].image.shape == (24, 32, 3)
    assert source_length(tmp_path / "imgs") == 3


def test_empty_folder_and_missing_path_are_errors_naming_them(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="empty: no images"):
        resolve_source(tmp_path / "empty")
    with pytest.raises(DatasetError, match=r"nope\.png: no such image"):
        resolve_source(tmp_path / "nope.png")
    with pytest.raises(TypeError, match="a source must be"):
        resolve_source(3.5)


def test_glob_and_recursive_glob(tmp_path: Path) -> None:
    _folder(tmp_path / "g", ["x1.jpg", "x2.png"])
    _folder(tmp_path / "g" / "sub", ["y.jpg"])
    assert [it.name for it in iter_source(str(tmp_path / "g" / "*.jpg"))] == ["x1.jpg"]
    # natural order of the paths: g/sub/y.jpg before g/x1.jpg
    assert [it.name for it in iter_source(str(tmp_path / "g" / "**" / "*.jpg"))] == ["y.jpg", "x1.jpg"]
    with pytest.raises(DatasetError, match=r"\*\.gif: the pattern matches nothing"):
        resolve_source(str(tmp_path / "g" / "*.gif"))


def test_list_file_relative_paths_comments_and_a_bad_line(tmp_path: Path) -> None:
    _folder(tmp_path / "imgs", ["a.png", "b.png"])
    lst = tmp_path / "list.txt"
    lst.write_text("# two images\n\nimgs/b.png\n" + f"{tmp_path / 'imgs' / 'a.png'}\n")
    assert [it.name for it in iter_source(lst)] == ["b.png", "a.png"]
    assert source_length(lst) == 2
    lst.write_text("imgs/a.png\n# a comment\nimgs/missing.png\n")
    with pytest.raises(DatasetError, match=r"list\.txt:3: no such image or video file 'imgs/missing.png'"):
        resolve_source(lst)


def test_video_frames_one_at_a_time(tmp_path: Path) -> None:
    _video(tmp_path / "clip.mp4", 6)
    assert source_length(tmp_path / "clip.mp4") == 6
    stream = iter_source(tmp_path / "clip.mp4")
    first = next(stream)
    assert first.name == "clip.mp4#0" and first.frame == 0 and first.path == tmp_path / "clip.mp4"
    assert first.image.shape == (32, 48, 3) and first.image.dtype == np.uint8
    rest = list(stream)
    assert [it.frame for it in rest] == [1, 2, 3, 4, 5]
    assert abs(float(rest[-1].image.mean()) - 100) < 6  # grey level 20 * 5, through a lossy codec
    (tmp_path / "broken.mp4").write_bytes(b"not a video at all")
    with pytest.raises(DatasetError, match=r"broken\.mp4: OpenCV"):
        list(iter_source(tmp_path / "broken.mp4"))


def test_arrays_are_converted_without_touching_the_callers(tmp_path: Path) -> None:
    batch = np.stack([_image(0), _image(1)])
    before = batch.copy()
    items = list(iter_source(batch))
    assert [it.name for it in items] == ["image0.png", "image1.png"]
    np.testing.assert_array_equal(items[1].image, batch[1])
    np.testing.assert_array_equal(batch, before)
    floats = batch[0].astype(np.float32) / 255.0
    np.testing.assert_array_equal(next(iter_source(floats)).image, batch[0])
    grey = next(iter_source(batch[0][:, :, :1])).image
    assert grey.shape == (24, 32, 3) and (grey[:, :, 0] == grey[:, :, 2]).all()
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        resolve_source(np.zeros((1, 2, 3, 4, 3)))
    Image.fromarray(_image(5)).save(tmp_path / "p.png")
    mixed = list(iter_source([tmp_path / "p.png", batch[0]]))
    assert [it.name for it in mixed] == ["p.png", "image1.png"]
    item = SourceItem("given.png", None, None, batch[0])
    assert next(iter(iter_source([item]))) is item


def _dataset(folder: Path) -> Dataset:
    images = _folder(folder, ["s1.png", "s2.png"])
    records = tuple(ImageRecord(id=10 + k, file_name=f"s{k + 1}.png", path=f"s{k + 1}.png", width=32, height=24)
                    for k in range(len(images)))
    anns = {10: GroundTruth(np.array([[1.0, 2.0, 10.0, 12.0]]), np.array([3]))}
    return Dataset(records, (Category(3, "cell"),), anns, root=folder)


def test_datasets_give_their_image_ids(tmp_path: Path) -> None:
    ds = _dataset(tmp_path / "data")
    assert [(it.name, it.image_id) for it in iter_source(ds)] == [("s1.png", 10), ("s2.png", 11)]
    assert resolve_source(ds).dataset is ds
    write_coco(ds, tmp_path / "data" / "instances.json")
    from_file = resolve_source(tmp_path / "data" / "instances.json")
    assert [it.image_id for it in from_file] == [10, 11] and from_file.dataset is not None
    # the folder holds images: it stays a folder of images, annotations beside them or not
    as_folder = resolve_source(tmp_path / "data")
    assert as_folder.dataset is None and [it.image_id for it in as_folder] == [None, None]
    from odkit.data import detection_dataset

    det = detection_dataset(read_annotations(tmp_path / "data" / "instances.json"))
    assert [it.image_id for it in iter_source(det)] == [10, 11]


def test_dataset_folder_without_images_is_read_as_a_dataset(tmp_path: Path) -> None:
    from odkit.io import write_annotations

    ds = _dataset(tmp_path / "src")
    write_annotations(ds, tmp_path / "yolo", "yolo", copy_images="copy")
    resolved = resolve_source(tmp_path / "yolo")
    assert resolved.dataset is not None and len(list(resolved)) == 2 and source_length(tmp_path / "yolo") == 2


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    image = Image.fromarray(_image(3, (20, 40)))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    image.save(tmp_path / "rotated.jpg", exif=exif, quality=95)
    item = next(iter_source(tmp_path / "rotated.jpg"))
    assert item.image.shape == (40, 20, 3)
