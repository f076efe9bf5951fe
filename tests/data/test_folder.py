"""image_dataset_from_directory beyond the Keras goldens: errors, batching, torch, cache, stratify, speed paths."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from odkit.data import ImageDecodeError, image_dataset_from_directory, index_directory
from odkit.data._resize import resize_image
from tests.data._tree import make_tree


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tree(tmp_path_factory.mktemp("tree"))


def _classes(tmp_path: Path, counts: dict[str, int], hw: tuple[int, int] = (12, 10)) -> Path:
    rng = np.random.RandomState(0)
    for name, n in counts.items():
        (tmp_path / name).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rng.randint(0, 256, (*hw, 3), dtype=np.uint8)).save(tmp_path / name / f"{i:03d}.png")
    return tmp_path


def test_batches_shapes_dtypes_and_partial_last_batch(root: Path) -> None:
    ds = image_dataset_from_directory(root, image_size=(8, 10), batch_size=10, shuffle=False, verbose=False)
    batches = list(ds)
    assert len(ds) == len(batches) == 5 and [len(b[0]) for b in batches] == [10, 10, 10, 10, 7]
    images, labels = batches[0]
    assert images.shape == (10, 8, 10, 3) and images.dtype == np.float32 and labels.dtype == np.int32
    flat = np.concatenate([b[1] for b in batches])
    np.testing.assert_array_equal(flat, ds.labels)


def test_map_style_access_matches_iteration(root: Path) -> None:
    ds = image_dataset_from_directory(root, image_size=(6, 6), batch_size=8, seed=3, verbose=False)
    first_images, first_labels = ds[0]
    np.testing.assert_array_equal(first_labels, ds.labels[:8])
    np.testing.assert_array_equal(first_images[2], ds.load_image(2))
    with pytest.raises(IndexError):
        ds[len(ds)]


def test_label_modes_encode_like_keras(root: Path) -> None:
    cat = image_dataset_from_directory(root, label_mode="categorical", image_size=4, shuffle=False, verbose=False)
    _, onehot = next(iter(cat))
    assert onehot.dtype == np.float32 and onehot.shape == (32, 5)
    np.testing.assert_array_equal(onehot.argmax(1), cat.labels[:32])
    binary = image_dataset_from_directory(
        root, class_names=["cats", "dogs"], label_mode="binary", image_size=4, shuffle=False, verbose=False
    )
    _, y = next(iter(binary))
    assert y.dtype == np.float32 and y.shape == (21, 1) and set(np.unique(y)) == {0.0, 1.0}


def test_explicit_label_outside_num_classes_one_hot_is_zero_and_list_not_mutated(root: Path) -> None:
    n = len(index_directory(root, None, shuffle=False, verbose=False).file_paths)
    labels = [0 if i % 2 else 2 for i in range(n)]  # two classes named '0' and '2'
    before = list(labels)
    ds = image_dataset_from_directory(
        root, labels=labels, label_mode="categorical", image_size=4, seed=1, verbose=False
    )
    assert labels == before  # Keras shuffles the caller's list in place
    assert ds.class_names == ["0", "2"]
    _, y = ds[0]  # map-style access: file_paths order
    assert y.shape[1] == 2 and np.all(y[ds.labels[:32] == 2] == 0)  # the Keras gotcha, kept


def test_unbatched_channels_first_and_nearest_uint8(root: Path) -> None:
    ds = image_dataset_from_directory(
        root, batch_size=None, data_format="channels_first", interpolation="nearest", image_size=(5, 7),
        color_mode="rgba", shuffle=False, verbose=False,
    )
    image, label = next(iter(ds))
    assert image.shape == (4, 5, 7) and image.dtype == np.uint8 and np.ndim(label) == 0


def test_epochs_reshuffle_deterministically_and_validation_stays_put(root: Path) -> None:
    train, val = image_dataset_from_directory(
        root, validation_split=0.3, subset="both", seed=9, image_size=4, batch_size=None, verbose=False
    )
    order = [train.epoch_order(e).tolist() for e in (0, 0, 1)]
    assert order[0] == order[1] != order[2] and sorted(order[2]) == list(range(len(train.file_paths)))
    assert val.epoch_order(5).tolist() == list(range(len(val.file_paths)))
    # with_paths lines every element up with its file, even shuffled
    for image, label, path in train.iter_epoch(1, with_paths=True):
        assert train.class_names[int(label)] == Path(path).relative_to(root).parts[0]
        np.testing.assert_array_equal(image, train.load_image(train.file_paths.index(path)))


def test_with_paths_without_labels(root: Path) -> None:
    ds = image_dataset_from_directory(root, labels=None, image_size=4, batch_size=16, shuffle=False, verbose=False)
    images, paths = next(ds.iter_epoch(0, with_paths=True))
    assert images.shape == (16, 4, 4, 3) and paths == ds.file_paths[:16]


def test_stratified_split_keeps_class_proportions(tmp_path: Path) -> None:
    folder = _classes(tmp_path, {"a": 40, "b": 10, "c": 5})
    kwargs = {"validation_split": 0.2, "seed": 1, "image_size": 4, "verbose": False}
    train, val = image_dataset_from_directory(folder, subset="both", stratify=True, **kwargs)
    assert np.bincount(val.labels, minlength=3).tolist() == [8, 2, 1]
    assert not set(train.file_paths) & set(val.file_paths)
    assert len(train.file_paths) + len(val.file_paths) == 55


def test_corrupt_images_skip_with_warning_and_count(tmp_path: Path) -> None:
    folder = _classes(tmp_path, {"a": 5, "b": 5})
    (folder / "a" / "broken.png").write_bytes((folder / "a" / "000.png").read_bytes()[:60])
    (folder / "b" / "fake.jpg").write_bytes(b"not a jpeg at all")
    ds = image_dataset_from_directory(folder, image_size=4, batch_size=4, shuffle=False, verbose=False)
    with pytest.warns(RuntimeWarning) as record:
        total = sum(len(y) for _, y in ds)
    messages = [str(w.message) for w in record]
    assert total == 10
    assert any("broken.png" in m for m in messages) and any("fake.jpg" in m for m in messages)
    assert any("skipped 2 unreadable image(s) of 12 this epoch" in m for m in messages)
    assert sorted(Path(p).name for p in ds.skipped_files) == ["broken.png", "fake.jpg"]
    strict = image_dataset_from_directory(folder, image_size=4, shuffle=False, verbose=False, on_error="raise")
    with pytest.raises(ImageDecodeError, match=r"broken\.png: cannot decode image"):
        list(strict)


def test_cache_serves_the_same_images_without_reading(tmp_path: Path) -> None:
    folder = _classes(tmp_path, {"a": 3, "b": 3})
    ds = image_dataset_from_directory(
        folder, image_size=(5, 5), batch_size=None, shuffle=False, cache=True, verbose=False
    )
    first = [image.copy() for image, _ in ds]
    for p in ds.file_paths:
        Path(p).write_bytes(b"gone")
    second = [image for image, _ in ds]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_resize_identity_and_grayscale_values(tmp_path: Path) -> None:
    folder = _classes(tmp_path, {"a": 2}, hw=(9, 7))
    ds = image_dataset_from_directory(folder, image_size=(9, 7), color_mode="grayscale", shuffle=False, verbose=False)
    images, _ = next(iter(ds))
    rgb = np.asarray(Image.open(ds.file_paths[0]).convert("RGB")).astype(np.uint32)
    expected = (9797 * rgb[..., 0] + 19234 * rgb[..., 1] + 3737 * rgb[..., 2]) >> 15  # libpng, as TF
    np.testing.assert_array_equal(images[0, :, :, 0], expected.astype(np.float32))
    assert resize_image(rgb.astype(np.uint8), (9, 7)).dtype == np.float32


def test_torch_tensors_and_dataloader(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    folder = _classes(tmp_path, {"a": 6, "b": 6})
    ds = image_dataset_from_directory(folder, image_size=(4, 4), batch_size=None, seed=0, output="torch", verbose=False)
    loader = torch.utils.data.DataLoader(ds, batch_size=5, shuffle=True, num_workers=0)
    images, labels = next(iter(loader))
    assert images.dtype == torch.float32 and tuple(images.shape) == (5, 4, 4, 3) and labels.dtype == torch.int32
    assert tuple(labels.shape) == (5,) and tuple(ds[0][1].shape) == ()  # a scalar label per element, as Keras
    batched = image_dataset_from_directory(folder, image_size=(4, 4), output="torch", seed=0, verbose=False)
    x, y = next(iter(torch.utils.data.DataLoader(batched, batch_size=None)))
    assert tuple(x.shape) == (12, 4, 4, 3) and tuple(y.shape) == (12,)


def _corrupt_folder(tmp_path: Path) -> Path:
    """a: 000..003 + broken.png (sorted first); b: 000..003: 9 files, one unreadable."""
    folder = _classes(tmp_path, {"a": 4, "b": 4})
    (folder / "a" / "broken.png").write_bytes((folder / "a" / "000.png").read_bytes()[:60])
    return folder


def test_on_error_skip_through_a_real_dataloader(tmp_path: Path) -> None:
    """Regression: DataLoader(ds(batch_size=None), batch_size=4) raised ImageDecodeError on a corrupt file."""
    torch = pytest.importorskip("torch")
    folder = _corrupt_folder(tmp_path)
    ds = image_dataset_from_directory(folder, image_size=4, batch_size=None, shuffle=False, output="torch",
                                      verbose=False)
    assert Path(ds.file_paths[4]).name == "broken.png"
    loader = torch.utils.data.DataLoader(ds, batch_size=4, num_workers=0)
    with pytest.warns(RuntimeWarning, match=r"broken\.png"):
        batches = list(loader)
    assert [len(y) for _, y in batches] == [4, 3, 1]  # the batch holding broken.png is shorter by one
    assert torch.cat([y for _, y in batches]).tolist() == [0] * 4 + [1] * 4
    assert [Path(p).name for p in ds.skipped_files] == ["broken.png"]
    shuffled = torch.utils.data.DataLoader(ds, batch_size=3, shuffle=True, num_workers=0)
    for _ in range(2):
        assert sum(len(y) for _, y in shuffled) == 8

    # a batched dataset through DataLoader(batch_size=None): the same shorter batch
    batched = image_dataset_from_directory(folder, image_size=4, batch_size=4, shuffle=False, output="torch",
                                           verbose=False)
    with pytest.warns(RuntimeWarning, match=r"broken\.png"):
        assert [len(y) for _, y in torch.utils.data.DataLoader(batched, batch_size=None)] == [4, 3, 1]

    # one element at a time (DataLoader(batch_size=None) of an unbatched dataset): the next one stands in
    with pytest.warns(RuntimeWarning, match=r"ds\[4\] \(.*broken\.png\) is unreadable; returning ds\[5\]"):
        elements = list(torch.utils.data.DataLoader(ds, batch_size=None))
    assert len(elements) == 9 and torch.equal(elements[4][0], elements[5][0])

    strict = image_dataset_from_directory(folder, image_size=4, batch_size=None, shuffle=False, on_error="raise",
                                          verbose=False)
    with pytest.raises(ImageDecodeError, match=r"broken\.png"):
        list(torch.utils.data.DataLoader(strict, batch_size=4))


def test_map_style_skip_without_torch_and_all_unreadable(tmp_path: Path) -> None:
    from odkit.errors import DatasetError

    folder = _corrupt_folder(tmp_path)
    ds = image_dataset_from_directory(folder, image_size=4, batch_size=None, shuffle=False, verbose=False)
    with pytest.warns(RuntimeWarning):
        items = ds.__getitems__([3, 4, 5])
        _, label = ds[4]
    assert [int(y) for _, y in items] == [0, 1] and int(label) == 1
    for p in ds.file_paths:
        Path(p).write_bytes(b"gone")
    with pytest.warns(RuntimeWarning), pytest.raises(DatasetError, match="none of the 9 images can be decoded"):
        ds[0]


def test_direct_construction_checks_arguments() -> None:
    from odkit.data import ImageFolderDataset

    with pytest.raises(ValueError, match="interpolation must be one of"):
        ImageFolderDataset(["a.png"], None, None, interpolation="cubic")
    with pytest.raises(ValueError, match="one entry per file"):
        ImageFolderDataset(["a.png", "b.png"], np.zeros(1, np.int32), ["x"])
    with pytest.raises(ValueError, match="on_error"):
        ImageFolderDataset(["a.png"], None, None, on_error="ignore")


def test_import_does_not_load_torch_or_opencv() -> None:
    code = "import sys, odkit.data; print(sorted(m for m in ('torch', 'cv2', 'albumentations') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
