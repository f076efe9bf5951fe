"""What the README's "Keras loader" bullet claims about odkit's resize against TensorFlow 2.21.

The golden tests (``test_resize.py`` on ``tf_resize.npz``, ``test_keras_equivalence.py`` on the files of the
generated tree in ``keras_pixels.npz``) assert exactly this, so the claim and the tests cannot drift apart.
"""

from __future__ import annotations

import numpy as np

# Pixels equal to tf.image.resize's bit for bit (same float32 operations in the same order).
TF_BIT_EXACT = ("bilinear", "nearest", "bicubic", "area", "gaussian", "mitchellcubic")
# Every method, lanczos3 and lanczos5 included, within this of TF's pixels (0..255 scale, absolute): their
# weights need sin(), and TF calls the C library's sinf, which is not always correctly rounded.
TF_TOLERANCE = 1e-3


def assert_tf_agreement(method: str, ours: np.ndarray, want: np.ndarray, key: str = "") -> None:
    """Same shape and dtype as TF's output, and the pixels as close as the README says."""
    assert ours.shape == want.shape and ours.dtype == want.dtype, (key, ours.shape, want.shape)
    if method in TF_BIT_EXACT:
        np.testing.assert_array_equal(ours, want, err_msg=key)
    else:
        np.testing.assert_allclose(ours, want, atol=TF_TOLERANCE, rtol=0, err_msg=key)
