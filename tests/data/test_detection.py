"""detection_dataset: targets, EXIF, colour modes, errors, augmentation at the dataset level, torch."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from odkit.boxes import BoxFormat, GroundTruth, box_convert
from odkit.data import (
    Compose,
    DetectionDataset,
    HorizontalFlip,
    ImageDecodeError,
    Letterbox,
    Mosaic,
    RandomCrop,
    RandomScale,
    detection_collate,
    detection_dataset,
    unletterbox_boxes,
)
from odkit.errors import AnnotationError
from odkit.io import Category, Dataset, ImageRecord
from tests.data.test_augment import assert_boxes_cover_pixels, scene


def _dataset(tmp_path: Path, items: list[tuple[str, np.ndarray | bytes, np.ndarray, list[int]]]) -> Dataset:
    """Write images and build an in-memory Dataset (category ids 10, 20, ... for names c0, c1, ...)."""
    records, anns = [], {}
    for i, (name, content, boxes, cats) in enumerate(items):
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            Image.fromarray(content).save(path)
        records.append(ImageRecord(id=i + 1, file_name=name, path=name))
        anns[i + 1] = GroundTruth(np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(cats, np.int64))
    categories = tuple(Category(10 * (k + 1), f"c{k}") for k in range(12))
    return Dataset(tuple(records), categories, anns, root=tmp_path)


def _colour_scenes(tmp_path: Path, n: int = 4) -> Dataset:
    """n <= 4 scenes of three rectangles; every rectangle has its own colour (unique across scenes)."""
    rng = np.random.default_rng(0)
    items = []
    for i in range(n):
        ids = [3 * i + k for k in range(3)]
        image, boxes, _ = scene(rng, (60, 90), ids)
        items.append((f"s{i}.png", image, boxes, [10 * (c + 1) for c in ids]))
    return _dataset(tmp_path, items)


def test_targets_labels_and_box_formats(tmp_path: Path) -> None:
    ds = detection_dataset(_colour_scenes(tmp_path))
    assert ds.class_names == [f"c{k}" for k in range(12)] and ds.category_ids[:2] == [10, 20]
    image, target = ds[0]
    assert image.shape == (60, 90, 3) and image.dtype == np.uint8
    assert target["boxes"].dtype == np.float32 and target["labels"].dtype == np.int64
    assert target["labels"].tolist() == [0, 1, 2]
    assert_boxes_cover_pixels(image, target["boxes"], target["labels"], slack=0.0)
    norm = detection_dataset(ds.dataset, box_format="cxcywh_norm")[0][1]["boxes"]
    back = box_convert(norm, BoxFormat.CXCYWH_NORM, BoxFormat.XYXY, (60, 90))
    np.testing.assert_allclose(back, target["boxes"], atol=1e-3)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Compose([RandomScale((0.6, 1.4)), HorizontalFlip(), RandomCrop((48, 48)), Letterbox((64, 64))], 3),
        lambda: Compose([Mosaic((64, 64)), HorizontalFlip()], 4),
        lambda: Letterbox((50, 50)),
    ],
    ids=["scale-flip-crop-letterbox", "mosaic-flip", "letterbox"],
)
def test_dataset_targets_follow_pixels_after_augmentation(tmp_path: Path, make) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("albumentations")
    ds = detection_dataset(_colour_scenes(tmp_path), transforms=make(), num_workers=2)
    for epoch in range(2):
        for image, target in ds.iter_epoch(epoch):
            # class c_k is painted with COLOURS[k]: the label is the colour index
            assert_boxes_cover_pixels(image, target["boxes"], target["labels"])
            assert target["iscrowd"].shape == target["labels"].shape


def test_letterbox_target_maps_predictions_back(tmp_path: Path) -> None:
    raw = detection_dataset(_colour_scenes(tmp_path))
    boxed = detection_dataset(raw.dataset, transforms=Letterbox((64, 64)))
    for i in range(len(raw.records)):
        _, t_raw = raw[i]
        image, t_box = boxed[i]
        assert image.shape == (64, 64, 3)
        np.testing.assert_allclose(unletterbox_boxes(t_box["boxes"], t_box["letterbox"]), t_raw["boxes"], atol=1e-3)


def test_exif_orientation_applied_and_boxes_in_display_orientation(tmp_path: Path) -> None:
    shown = np.zeros((50, 30, 3), np.uint8)
    shown[5:20, 3:12] = (255, 0, 0)  # box in the displayed (upright) image
    raw = Image.fromarray(shown).transpose(Image.Transpose.ROTATE_90)  # stored sideways...
    exif = Image.Exif()
    exif[0x0112] = 6  # ...with "rotate 90 CW to display"
    raw.save(tmp_path / "rot.jpg", exif=exif, quality=98)
    content = (tmp_path / "rot.jpg").read_bytes()
    ds = detection_dataset(_dataset(tmp_path, [("rot.jpg", content, [[3, 5, 12, 20]], [10])]))
    image, target = ds[0]
    assert image.shape == (50, 30, 3)
    assert_boxes_cover_pixels(image, target["boxes"], target["labels"], slack=1.0)


def test_grayscale_rgba_and_palette_sources_become_rgb(tmp_path: Path) -> None:
    gray = np.full((20, 30), 77, np.uint8)
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 10
    pal = Image.fromarray(np.full((20, 30, 3), 40, np.uint8)).convert("P")
    pal.save(tmp_path / "pal.png")
    ds = detection_dataset(
        _dataset(tmp_path, [("g.png", gray, [[1, 1, 5, 5]], [10]), ("a.png", rgba, [], []),
                            ("pal.png", (tmp_path / "pal.png").read_bytes(), [], [])])
    )
    images = [ds[i][0] for i in range(3)]
    assert all(im.shape == (20, 30, 3) for im in images)
    assert images[0][0, 0].tolist() == [77, 77, 77]
    assert images[1][0, 0].tolist() == [200, 0, 0]  # alpha dropped, not composited
    assert images[2][0, 0].tolist() == np.asarray(pal.convert("RGB"))[0, 0].tolist()  # palette expanded
    gray_ds = detection_dataset(ds.dataset, color_mode="grayscale")
    assert gray_ds[0][0].shape == (20, 30, 1)


def test_corrupt_images_are_skipped_with_a_warning_or_raise(tmp_path: Path) -> None:
    good = np.zeros((10, 10, 3), np.uint8)
    png = (tmp_path / "tmp.png")
    Image.fromarray(good).save(png)
    truncated = png.read_bytes()[:40]
    items = [("a.png", good, [], []), ("bad.png", truncated, [], []), ("c.png", good, [], []),
             ("notimg.jpg", b"hello", [], [])]
    ds = detection_dataset(_dataset(tmp_path, items), batch_size=2)
    with pytest.warns(RuntimeWarning) as record:
        batches = list(ds)
    messages = [str(w.message) for w in record]
    assert any("bad.png" in m for m in messages) and any("notimg.jpg" in m for m in messages)
    assert any("skipped 2 unreadable image(s) of 4" in m for m in messages)
    assert [len(b[0]) for b in batches] == [2]
    strict = detection_dataset(ds.dataset, on_error="raise")
    with pytest.raises(ImageDecodeError, match=r"bad\.png"):
        list(strict)


def test_degenerate_boxes_raise_naming_the_file_or_are_dropped(tmp_path: Path) -> None:
    image = np.zeros((10, 10, 3), np.uint8)
    dataset = _dataset(tmp_path, [("a.png", image, [[1, 1, 4, 4], [12, 12, 20, 20], [-5, 2, 3, 6]], [10, 20, 30])])
    with pytest.raises(AnnotationError, match=r"a.png:box 1: .*no area inside the 10x10 image"):
        detection_dataset(dataset)  # at construction, from the image header: never mid-epoch
    with pytest.warns(RuntimeWarning, match=r"dropped 1 degenerate box\(es\) in 1 image\(s\) \(first: .*a.png:box 1\)"):
        ds = detection_dataset(dataset, drop_degenerate=True)
    assert [i for _, i in ds.dropped_boxes] == [1]
    _, target = ds[0]
    np.testing.assert_allclose(target["boxes"], [[1, 1, 4, 4], [0, 2, 3, 6]])  # the last one clipped
    assert target["labels"].tolist() == [0, 2]


def _dirty(tmp_path: Path) -> Dataset:
    """Six 10x10 images with their size annotated (as VOC does); image 5 has a zero-width box, image 6 an
    unknown category."""
    image = np.zeros((10, 10, 3), np.uint8)
    items = [(f"{i}.png", image, [[1, 1, 4, 4]], [10]) for i in range(6)]
    items[4] = ("4.png", image, [[1, 1, 4, 4], [6, 1, 6, 4]], [10, 20])
    items[5] = ("5.png", image, [[1, 1, 4, 4], [1, 1, 2, 2]], [10, 999])
    base = _dataset(tmp_path, items)
    records = tuple(
        ImageRecord(r.id, r.file_name, r.path, width=10, height=10, annotation_file=f"ann/{r.id}.xml")
        for r in base.images
    )
    return Dataset(records, base.categories, dict(base.annotations), root=tmp_path)


def test_dirty_annotations_fail_at_construction_not_mid_epoch(tmp_path: Path) -> None:
    """Regression: a dirty VOC set used to die with AnnotationError after 4 samples of an epoch."""
    dirty = _dirty(tmp_path)
    with pytest.raises(AnnotationError, match=r"ann/5.xml:box 1: box \[6.0, 1.0, 6.0, 4.0\] has no area"):
        detection_dataset(dirty)  # the first problem in dataset order
    with pytest.raises(AnnotationError, match=r"ann/6.xml:box 1: category id 999 is not in"):
        detection_dataset(dirty, drop_degenerate=True)  # an unknown class is not a degenerate box
    no_unknown = Dataset(dirty.images[:5], dirty.categories, {i: dirty.annotations[i] for i in range(1, 6)},
                         root=tmp_path)
    with pytest.raises(AnnotationError, match=r"ann/5.xml:box 1: box \[6.0, 1.0, 6.0, 4.0\] has no area"):
        detection_dataset(no_unknown)
    with pytest.warns(RuntimeWarning, match="dropped 1 degenerate"):
        ds = detection_dataset(no_unknown, drop_degenerate=True, batch_size=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        batches = list(ds)
    assert [len(t) for _, t in batches] == [2, 2, 1]
    assert [len(t["boxes"]) for _, ts in batches for t in ts] == [1] * 5


def test_box_outside_the_decoded_image_skips_that_sample_only(tmp_path: Path) -> None:
    """Annotated 40x40 but the file is 10x10: found only when loading; skipped (named, counted) or raised."""
    base = _dataset(tmp_path, [(f"{i}.png", np.zeros((10, 10, 3), np.uint8), [[1, 1, 4, 4]], [10]) for i in range(3)])
    wrong = _dataset(tmp_path, [("w.png", np.zeros((10, 10, 3), np.uint8), [[20, 20, 30, 30]], [10])])
    records = (*base.images, ImageRecord(9, "w.png", "w.png", width=40, height=40, annotation_file="ann/w.xml"))
    dataset = Dataset(records, base.categories, {**base.annotations, 9: wrong.annotations[1]}, root=tmp_path)
    ds = detection_dataset(dataset)
    with pytest.warns(RuntimeWarning) as record:
        samples = list(ds)
    messages = [str(w.message) for w in record]
    assert len(samples) == 3
    assert any("ann/w.xml:box 0" in m and "decoded 10x10 image" in m for m in messages)
    assert any("skipped 1 unreadable image(s) of 4" in m for m in messages)
    with pytest.raises(AnnotationError, match=r"ann/w.xml:box 0"):
        list(detection_dataset(dataset, on_error="raise"))
    with pytest.warns(RuntimeWarning, match="dropped"):
        kept = list(detection_dataset(dataset, drop_degenerate=True))
    assert len(kept) == 4 and len(kept[3][1]["boxes"]) == 0


def test_mosaic_leaves_out_unreadable_others_instead_of_dying(tmp_path: Path) -> None:
    pytest.importorskip("albumentations")
    items = [(f"{i}.png", np.zeros((20, 20, 3), np.uint8), [[1, 1, 8, 8]], [10]) for i in range(3)]
    items.append(("bad.png", b"not an image", [], []))
    dataset = _dataset(tmp_path, items)
    ds = detection_dataset(dataset, transforms=Mosaic((32, 32)), num_workers=1)
    with pytest.warns(RuntimeWarning) as record:
        samples = list(ds)
    messages = [str(w.message) for w in record]
    assert len(samples) == 3 and all(image.shape == (32, 32, 3) for image, _ in samples)
    assert any("mosaic: leaving out" in m and "bad.png" in m for m in messages)
    with pytest.raises(ImageDecodeError, match=r"bad\.png"):
        list(detection_dataset(dataset, transforms=Mosaic((32, 32)), on_error="raise", num_workers=1))


def test_batches_need_one_size(tmp_path: Path) -> None:
    items = [("a.png", np.zeros((10, 10, 3), np.uint8), [], []), ("b.png", np.zeros((12, 10, 3), np.uint8), [], [])]
    ds = detection_dataset(_dataset(tmp_path, items), batch_size=2)
    with pytest.raises(ValueError, match="different sizes"):
        list(ds)
    images, targets = next(iter(detection_dataset(ds.dataset, batch_size=2, transforms=Letterbox((16, 16)))))
    assert images.shape == (2, 16, 16, 3) and len(targets) == 2


def test_shuffle_is_seeded_per_epoch(tmp_path: Path) -> None:
    ds = detection_dataset(_colour_scenes(tmp_path), shuffle=True, seed=1)
    a = [t["image_id"] for _, t in ds.iter_epoch(0)]
    b = [t["image_id"] for _, t in ds.iter_epoch(0)]
    c = [t["image_id"] for _, t in ds.iter_epoch(1)]
    assert a == b and sorted(a) == sorted(c) == list(range(1, 5)) and a != c


def test_set_epoch_changes_map_style_augmentation(tmp_path: Path) -> None:
    pytest.importorskip("albumentations")
    ds = detection_dataset(_colour_scenes(tmp_path), transforms=Compose([RandomScale((0.5, 1.5))], seed=2))
    first = ds[0][0].shape
    again = ds[0][0].shape
    ds.set_epoch(1)
    shapes = {ds[0][0].shape}
    for epoch in range(2, 6):
        ds.set_epoch(epoch)
        shapes.add(ds[0][0].shape)
    assert first == again and len(shapes | {first}) > 1


def test_torch_output_and_dataloader(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    ds = detection_dataset(_colour_scenes(tmp_path), transforms=Letterbox((32, 32)), output="torch")
    image, target = ds[0]
    assert image.dtype == torch.float32 and tuple(image.shape) == (3, 32, 32) and float(image.max()) <= 1.0
    assert target["boxes"].dtype == torch.float32 and target["labels"].dtype == torch.int64
    loader = torch.utils.data.DataLoader(ds, batch_size=4, collate_fn=detection_collate)
    images, targets = next(iter(loader))
    assert tuple(images.shape) == (4, 3, 32, 32) and len(targets) == 4


def test_on_error_skip_through_a_real_dataloader(tmp_path: Path) -> None:
    """Regression: map-style access (what a DataLoader uses) raised on an unreadable image."""
    torch = pytest.importorskip("torch")
    items = [(f"{i}.png", np.zeros((10, 10, 3), np.uint8), [[1, 1, 4, 4]], [10]) for i in range(5)]
    items[1] = ("bad.png", b"not an image", [], [])
    dataset = _dataset(tmp_path, items)
    ds = detection_dataset(dataset, output="torch")
    loader = torch.utils.data.DataLoader(ds, batch_size=2, collate_fn=detection_collate)
    with pytest.warns(RuntimeWarning, match=r"bad\.png"):
        batches = list(loader)
    assert [len(t) for _, t in batches] == [1, 2, 1]
    assert [t["image_id"] for _, ts in batches for t in ts] == [1, 3, 4, 5]
    with pytest.warns(RuntimeWarning) as record:
        singles = list(torch.utils.data.DataLoader(ds, batch_size=None))
    assert any(re.search(r"ds\[1\] \(.*bad\.png\) is unusable; returning ds\[2\]", str(w.message)) for w in record)
    assert [t["image_id"] for _, t in singles] == [1, 3, 3, 4, 5]
    batched = detection_dataset(dataset, batch_size=2)
    assert len(batched) == 3
    with pytest.warns(RuntimeWarning, match=r"bad\.png"):
        assert [len(batched[i][1]) for i in range(3)] == [1, 2, 1]  # ds[i] is batch i, as len(ds) says
    strict = detection_dataset(dataset, on_error="raise")
    with pytest.raises(ImageDecodeError, match=r"bad\.png"):
        list(torch.utils.data.DataLoader(strict, batch_size=2, collate_fn=detection_collate))


def test_bccd_voc(datasets_dir: Path) -> None:
    root = datasets_dir / "bccd" / "BCCD"
    ds = detection_dataset(root, split="test", transforms=Letterbox((416, 416)), batch_size=16)
    assert isinstance(ds, DetectionDataset) and ds.class_names == ["Platelets", "RBC", "WBC"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        images, targets = next(iter(ds))
    assert images.shape == (16, 416, 416, 3)
    for t in targets:
        assert t["source_hw"] == (480, 640) and t["letterbox"].pad_xy == (0, 52)
        assert np.all(t["boxes"][:, [1, 3]] >= 52 - 1e-3) and np.all(t["boxes"][:, [1, 3]] <= 364 + 1e-3)


@pytest.mark.parametrize("fmt", ["yolo", "coco"])
def test_same_targets_from_every_format_odkit_io_writes(datasets_dir: Path, tmp_path: Path, fmt: str) -> None:
    from odkit.io import read_annotations, write_annotations

    voc = read_annotations(datasets_dir / "bccd" / "BCCD")
    ids = {im.id for im in voc.images[:8]}
    subset = Dataset(tuple(im for im in voc.images if im.id in ids), voc.categories,
                     {i: voc.annotations[i] for i in ids}, root=voc.root)
    write_annotations(subset, tmp_path / fmt, fmt, copy_images="symlink")
    want = detection_dataset(subset, num_workers=1)
    got = detection_dataset(tmp_path / fmt, num_workers=1)
    assert got.class_names == want.class_names and len(got.records) == 8
    by_name = {Path(t["path"]).name: (im, t) for im, t in got}
    for image, target in want:
        other_image, other = by_name[Path(target["path"]).name]
        np.testing.assert_array_equal(other_image, image)
        order = np.lexsort(target["boxes"].T[::-1])
        other_order = np.lexsort(other["boxes"].T[::-1])
        np.testing.assert_allclose(other["boxes"][other_order], target["boxes"][order], atol=0.01)
        np.testing.assert_array_equal(other["labels"][other_order], target["labels"][order])


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fast_jpeg", [True, False])
def test_all_exif_orientations_like_pillow(tmp_path: Path, orientation: int, fast_jpeg: bool, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from PIL import ImageOps

    from odkit.data import _decode, load_image
    from odkit.data._exif import jpeg_orientation

    if not fast_jpeg:
        monkeypatch.setattr(_decode, "_simplejpeg", False)  # the OpenCV / Pillow paths
    array = np.zeros((30, 50, 3), np.uint8)
    array[:10, :20] = (255, 0, 0)
    array[20:, 40:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "o.jpg"
    Image.fromarray(array).save(path, exif=exif, quality=95)
    assert jpeg_orientation(path.read_bytes()) == orientation
    with Image.open(path) as im:
        want = np.asarray(ImageOps.exif_transpose(im).convert("RGB")).astype(int)
    got = load_image(path, 3, exif_transpose=True).astype(int)
    assert got.shape == want.shape
    diff = np.abs(got - want)
    assert diff.mean() < 1.0 and diff.max() <= 16  # decoders differ slightly; a wrong turn differs by 255
    assert load_image(path, 3).shape == (30, 50, 3)  # Keras semantics: orientation ignored


def test_compose_seed_and_dataset_seed_both_drive_augmentation(tmp_path: Path) -> None:
    pytest.importorskip("albumentations")
    scenes = _colour_scenes(tmp_path)

    def boxes(compose_seed: int, dataset_seed: int) -> np.ndarray:
        pipeline = Compose([HorizontalFlip(p=0.5), Letterbox((64, 64))], seed=compose_seed)
        ds = detection_dataset(scenes, transforms=pipeline, seed=dataset_seed)
        return np.concatenate([ds.sample(i)[1]["boxes"] for i in range(len(ds))])

    base = boxes(0, 0)
    np.testing.assert_array_equal(base, boxes(0, 0))  # reproducible
    assert any(not np.array_equal(base, boxes(s, 0)) for s in range(1, 6))
    assert any(not np.array_equal(base, boxes(0, s)) for s in range(1, 6))
