"""Seeded box generators shared by the ops tests."""

from __future__ import annotations

import numpy as np


def random_boxes(rng: np.random.Generator, n: int, span: float = 100.0, max_size: float = 40.0) -> np.ndarray:
    """(n, 4) float64 xyxy boxes, uniform corners; about 5% have zero width or height."""
    xy = rng.uniform(0, span, (n, 2))
    wh = rng.uniform(0, max_size, (n, 2))
    wh[rng.random((n, 2)) < 0.03] = 0.0
    return np.concatenate([xy, xy + wh], axis=1)


def grid_boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 4) small-integer boxes on a 12 x 12 grid: many identical boxes and exactly tied IoUs."""
    xy = rng.integers(0, 12, (n, 2))
    wh = rng.integers(0, 5, (n, 2))
    return np.concatenate([xy, xy + wh], axis=1).astype(np.float64)


def clustered_boxes(rng: np.random.Generator, n: int, cluster: int = 25) -> np.ndarray:
    """(n, 4) float64 boxes in clusters of ~``cluster`` jittered copies (like a detector's raw output)."""
    n_obj = max(1, n // cluster)
    obj_w = np.exp(rng.uniform(np.log(8), np.log(300), n_obj))
    obj_h = obj_w * np.exp(rng.normal(0, 0.5, n_obj))
    centers = rng.uniform(0, 600, (n_obj, 2))
    k = rng.integers(0, n_obj, n)
    w = obj_w[k] * np.exp(rng.normal(0, 0.08, n))
    h = obj_h[k] * np.exp(rng.normal(0, 0.08, n))
    cx = centers[k, 0] + rng.normal(0, 0.08, n) * obj_w[k]
    cy = centers[k, 1] + rng.normal(0, 0.08, n) * obj_h[k]
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
