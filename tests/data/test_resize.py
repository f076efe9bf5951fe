"""The numpy resize against tf.image.resize / resize_with_pad / Keras smart_resize (golden), plus properties."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from odkit.data import INTERPOLATIONS, resize_image
from odkit.data._resize import crop_to_aspect_ratio, resize_with_pad
from tests.conftest import assert_unchanged
from tests.data._golden import TF_BIT_EXACT, assert_tf_agreement

GOLDEN = np.load(Path(__file__).parent / "golden" / "tf_resize.npz")  # bench/keras_golden_resize.py
KEYS = sorted(k for k in GOLDEN.files if k.split("_")[0] in ("resize", "pad", "crop"))


@pytest.mark.parametrize("key", KEYS)
def test_matches_tensorflow(key: str) -> None:
    kind, case, method = key.split("_", 2)
    image = GOLDEN[f"in_{case}"]
    image_hw = tuple(int(v) for v in GOLDEN[f"size_{case}"])
    if kind == "resize":
        ours = assert_unchanged(resize_image, image, image_hw, method)
    elif kind == "pad":
        ours = resize_with_pad(image, image_hw, method)
    else:
        ours = resize_image(crop_to_aspect_ratio(image, image_hw), image_hw, method)
    assert_tf_agreement(method, ours, GOLDEN[key], key)  # nearest keeps uint8, others float32


def test_golden_covers_every_method_in_every_mode() -> None:
    methods = {key.split("_", 2)[2] for key in KEYS}
    assert methods == set(INTERPOLATIONS) and set(TF_BIT_EXACT) < methods
    # Keras's TF backend cannot crop with gaussian or mitchellcubic, so those two have no crop golden.
    assert len([k for k in KEYS if k.startswith("crop_")]) == 5 * (len(INTERPOLATIONS) - 2)


sizes = st.integers(1, 40)


@settings(max_examples=60, deadline=None)
@given(
    in_h=sizes, in_w=sizes, out_h=sizes, out_w=sizes, method=st.sampled_from(INTERPOLATIONS), value=st.integers(0, 255)
)
def test_constant_images_stay_constant(in_h: int, in_w: int, out_h: int, out_w: int, method: str, value: int) -> None:
    image = np.full((in_h, in_w, 2), value, np.uint8)
    out = resize_image(image, (out_h, out_w), method)
    assert out.shape == (out_h, out_w, 2)
    np.testing.assert_allclose(out, value, atol=1e-3 * max(value, 1))


@settings(max_examples=60, deadline=None)
@given(in_h=sizes, in_w=sizes, out_h=sizes, out_w=sizes, method=st.sampled_from(("bilinear", "area", "nearest")),
       seed=st.integers(0, 2**16))
def test_convex_methods_stay_in_range(in_h: int, in_w: int, out_h: int, out_w: int, method: str, seed: int) -> None:
    image = np.random.default_rng(seed).integers(0, 256, (in_h, in_w, 1), dtype=np.uint8)
    out = resize_image(image, (out_h, out_w), method).astype(np.float64)
    assert out.min() >= image.min() - 1e-3 and out.max() <= image.max() + 1e-3


@pytest.mark.parametrize("method", ["bilinear", "bicubic", "area", "nearest"])
def test_same_size_is_identity(method: str) -> None:
    image = np.random.default_rng(0).integers(0, 256, (7, 9, 3), dtype=np.uint8)
    np.testing.assert_array_equal(resize_image(image, (7, 9), method), image)


def test_bad_arguments() -> None:
    image = np.zeros((4, 4, 1), np.uint8)
    with pytest.raises(ValueError, match="interpolation must be one of"):
        resize_image(image, (2, 2), "cubic")
    with pytest.raises(ValueError, match=r"shape \(H, W, C\)"):
        resize_image(np.zeros((4, 4)), (2, 2))
    with pytest.raises(ValueError, match="positive"):
        resize_image(image, (0, 2))
