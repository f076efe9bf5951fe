"""box_convert, validate_boxes, box_area, clip_boxes and BoxFormat."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from odkit.boxes import BoxFormat, box_area, box_convert, clip_boxes, validate_boxes
from odkit.errors import BoxFormatError, OdkitError
from tests.conftest import assert_unchanged

IMAGE_HW = (480, 640)
ALL_FORMATS = list(BoxFormat)

# One box, hand-written in every format: x 10..50, y 20..80 in a 480x640 (h x w) image.
GOLDEN = {
    BoxFormat.XYXY: [10, 20, 50, 80],
    BoxFormat.XYWH: [10, 20, 40, 60],
    BoxFormat.CXCYWH: [30, 50, 40, 60],
    BoxFormat.XYXY_NORM: [10 / 640, 20 / 480, 50 / 640, 80 / 480],
    BoxFormat.XYWH_NORM: [10 / 640, 20 / 480, 40 / 640, 60 / 480],
    BoxFormat.CXCYWH_NORM: [30 / 640, 50 / 480, 40 / 640, 60 / 480],
}


@pytest.mark.parametrize(("src", "dst"), list(itertools.product(ALL_FORMATS, ALL_FORMATS)))
def test_golden_conversions(src: BoxFormat, dst: BoxFormat) -> None:
    out = box_convert(np.array([GOLDEN[src]]), src, dst, image_hw=IMAGE_HW)
    np.testing.assert_allclose(out, [GOLDEN[dst]], rtol=0, atol=1e-12)


def test_format_names_are_parsed_and_listed_on_error() -> None:
    assert BoxFormat.from_value("XYWH") is BoxFormat.XYWH
    assert BoxFormat.CXCYWH_NORM.layout == "cxcywh" and BoxFormat.CXCYWH_NORM.normalized
    assert BoxFormat.XYXY.with_space(normalized=True) is BoxFormat.XYXY_NORM
    with pytest.raises(BoxFormatError, match=r"unknown box format 'xcycwh'.*'cxcywh'"):
        box_convert(np.zeros((1, 4)), "xcycwh", "xyxy")


def test_normalized_conversion_needs_image_hw() -> None:
    with pytest.raises(BoxFormatError, match="needs image_hw"):
        box_convert(np.zeros((1, 4)), "xyxy", "cxcywh_norm")
    with pytest.raises(BoxFormatError, match="positive"):
        box_convert(np.zeros((1, 4)), "xyxy", "xyxy_norm", image_hw=(0, 10))


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint16, np.float16, np.float32, np.float64])
def test_dtypes_accepted_and_input_unchanged(dtype: type) -> None:
    boxes = np.array([[1, 2, 5, 9], [0, 0, 3, 3]], dtype=dtype)
    out = assert_unchanged(box_convert, boxes, "xyxy", "cxcywh")
    expected_dtype = {np.float16: np.float32, np.float32: np.float32}.get(dtype, np.float64)
    assert out.dtype == expected_dtype
    np.testing.assert_allclose(out, [[3, 5.5, 4, 7], [1.5, 1.5, 3, 3]])
    assert out is not boxes


def test_same_format_returns_a_copy() -> None:
    boxes = np.array([[1.0, 2, 3, 4]])
    out = box_convert(boxes, "xyxy", "xyxy")
    out[0, 0] = 99
    assert boxes[0, 0] == 1


@pytest.mark.parametrize("empty", [np.zeros((0, 4)), [], np.zeros((0,))])
def test_empty_input_gives_0x4(empty: object) -> None:
    assert box_convert(empty, "xywh", "xyxy").shape == (0, 4)
    assert box_area(empty).shape == (0,)
    assert validate_boxes(empty).shape == (0, 4)


@pytest.mark.parametrize(
    ("boxes", "fmt", "message"),
    [
        (np.zeros((3, 5)), "xyxy", r"shape \(N, 4\); got \(3, 5\)"),
        (np.zeros(4), "xyxy", r"shape \(N, 4\); got \(4,\)"),
        (np.array([["a", "b", "c", "d"]]), "xyxy", "real numbers"),
        (np.array([[0, 0, 1, 1], [0, np.nan, 1, 1]]), "xyxy", r"boxes\[1\] has a NaN or infinite value"),
        (np.array([[0, 0, 1, 1], [0, 0, np.inf, 1]]), "xyxy", r"boxes\[1\]"),
        (np.array([[0, 0, 1, 1], [0, 0, 1, 1], [5, 0, 4, 1]]), "xyxy", r"boxes\[2\] \(xyxy\) has x_max < x_min.*5"),
        (np.array([[0, 0, 1, -1]]), "xywh", r"boxes\[0\] \(xywh\) has a negative width or height"),
    ],
)
def test_validation_errors_name_row_and_value(boxes: np.ndarray, fmt: str, message: str) -> None:
    with pytest.raises(BoxFormatError, match=message) as info:
        validate_boxes(boxes, fmt)
    assert isinstance(info.value, ValueError) and isinstance(info.value, OdkitError)


def test_zero_size_boxes_are_valid() -> None:
    validate_boxes(np.array([[5, 5, 5, 5], [1, 2, 1, 9]]))


def test_area_and_clip() -> None:
    boxes_xyxy = np.array([[-10, -5, 30, 20], [600, 400, 700, 500], [700, 10, 800, 20]], dtype=np.float32)
    np.testing.assert_allclose(box_area(boxes_xyxy), [40 * 25, 100 * 100, 100 * 10])
    clipped = assert_unchanged(clip_boxes, boxes_xyxy, IMAGE_HW)
    np.testing.assert_allclose(clipped, [[0, 0, 30, 20], [600, 400, 640, 480], [640, 10, 640, 20]])
    assert clipped.dtype == np.float32
    assert box_area(clipped)[2] == 0


finite = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)


@st.composite
def xyxy_boxes(draw: st.DrawFn) -> np.ndarray:
    xy = draw(arrays(np.float64, (draw(st.integers(0, 8)), 2), elements=finite))
    wh = draw(arrays(np.float64, (xy.shape[0], 2), elements=st.floats(0, 1e3)))
    return np.concatenate([xy, xy + wh], axis=1)


@settings(max_examples=200, deadline=None)
@given(xyxy_boxes(), st.sampled_from(ALL_FORMATS))
def test_round_trip_through_any_format(boxes_xyxy: np.ndarray, via: BoxFormat) -> None:
    there = box_convert(boxes_xyxy, "xyxy", via, image_hw=IMAGE_HW)
    back = box_convert(there, via, "xyxy", image_hw=IMAGE_HW)
    np.testing.assert_allclose(back, boxes_xyxy, rtol=1e-9, atol=1e-6)


@settings(max_examples=100, deadline=None)
@given(xyxy_boxes())
def test_area_is_invariant_under_format_changes(boxes_xyxy: np.ndarray) -> None:
    wh = box_convert(boxes_xyxy, "xyxy", "xywh")[:, 2:]
    np.testing.assert_allclose(box_area(boxes_xyxy), wh[:, 0] * wh[:, 1], rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize(
    ("fmt", "row"),
    [
        ("xyxy", [0.0, 0.0, 2e154, 2e154]),
        ("xyxy", [-1e308, 0.0, 1e308, 0.0]),  # width overflows to inf, even with zero height
        ("xywh", [0.0, 0.0, 1e200, 1e200]),
        ("cxcywh", [0.0, 0.0, 1e160, 1e160]),
    ],
)
def test_box_area_overflow_is_rejected_naming_the_row(fmt: str, row: list[float]) -> None:
    boxes = np.array([[0.0, 0.0, 1.0, 1.0], row])
    with pytest.raises(BoxFormatError, match=r"boxes\[1\] .*box area overflows float64"):
        validate_boxes(boxes, fmt)


def test_huge_but_representable_boxes_are_valid() -> None:
    # coordinates may be huge; only width * height has to fit (with room for a union)
    validate_boxes(np.array([[1e300, 1e300, 1e300, 1e300], [0.0, 0.0, 1e150, 1e150], [-1e307, 0, 1e307, 4.0]]))
    validate_boxes(np.array([[0, 0, 3e38, 3e38]], dtype=np.float32))  # float32 areas fit float64
