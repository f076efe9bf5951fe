"""The pieces of distributed training that run in one process: ranks' shares, loss normalizers, BatchNorm
fallback, and the precision / memory-format / worker options of the detector's fit on the CPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import odkit
from odkit.models._detector_data import DetectionFeed
from odkit.models._detector_steps import loss_normalizers
from odkit.models._distributed import (
    SINGLE,
    DistInfo,
    GlobalBatchNorm,
    convert_batchnorm,
    restore_batchnorm,
    shard_batches,
)
from tests.runs._tiny import write_shapes


@pytest.mark.parametrize("n, batch, world", [(8, 2, 2), (9, 2, 2), (11, 3, 2), (10, 2, 3), (5, 4, 2)])
def test_shares_make_the_single_process_global_batches(n: int, batch: int, world: int) -> None:
    order = list(np.random.default_rng(n).permutation(n))
    single = shard_batches(order, batch * world, SINGLE)
    shares = [shard_batches(order, batch, DistInfo(r, world)) for r in range(world)]
    assert len({len(s) for s in shares}) == 1  # every rank takes the same number of steps
    for step, global_batch in enumerate(single[:len(shares[0])]):
        assert [i for s in shares for i in s[step]] == global_batch
        assert all(len(s[step]) >= 1 for s in shares)
    dropped = single[len(shares[0]):]
    assert all(len(b) < world for b in dropped)  # only a last global batch smaller than the world is left out


def test_validation_batches_go_round_robin(tmp_path: Path) -> None:
    from odkit.data import detection_dataset

    ds = detection_dataset(write_shapes(tmp_path, n=12, val=None), drop_degenerate=True)
    single = DetectionFeed(ds, 2, False, 0)._batches(np.arange(12))
    shares = [DetectionFeed(ds, 2, False, 0, dist=DistInfo(r, 2), shard="batch")._batches(np.arange(12))
              for r in range(2)]
    assert shares[0] == single[0::2] and shares[1] == single[1::2]


def test_loss_normalizers_scale_half_batches_to_the_whole(tmp_path: Path) -> None:
    """Scaled as the distributed step scales them, two half batches' losses add up to the whole batch's."""
    from odkit.data import detection_dataset

    ds = detection_dataset(write_shapes(tmp_path, n=8, val=None), drop_degenerate=True)
    model = odkit.models.build("detector-n", num_classes=3, imgsz=64, seed=0)
    feed = DetectionFeed(model._as_dataset(ds, None, False), 4, False, 0)
    images, targets = next(feed.iter_epoch(0))
    x = torch.as_tensor(images).permute(0, 3, 1, 2).float()
    model.eval()
    with torch.no_grad():
        whole = model(x, targets)
        halves = [(model(x[s], targets[s]), loss_normalizers(targets[s], (64, 64), 1.5, x.device))
                  for s in (slice(0, 2), slice(2, 4))]
    all_pos = sum(p for _, (p, _) in halves)
    all_ctr = sum(c for _, (_, c) in halves)
    for key, norm in (("cls_loss", 0), ("box_loss", 1), ("ctr_loss", 0)):
        total = 0.0
        for losses, stats in halves:
            share = max(stats[0], 1.0) / max(all_pos, 1.0) if norm == 0 else max(stats[1], 1e-6) / max(all_ctr, 1e-6)
            total += float(losses[key]) * share
        assert total == pytest.approx(float(whole[key]), rel=1e-5), key


def test_global_batchnorm_is_batchnorm_without_a_process_group() -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.BatchNorm2d(4))
    x = torch.randn(2, 3, 8, 8)
    ref = net(x)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    net.load_state_dict(state)
    changed = convert_batchnorm(net)
    assert len(changed) == 2 and isinstance(net[1], GlobalBatchNorm)
    torch.testing.assert_close(net(x), ref)
    assert list(net.state_dict()) == list(state)
    restore_batchnorm(changed)
    assert type(net[1]) is torch.nn.BatchNorm2d


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_shapes(tmp_path_factory.mktemp("shapes"), n=8, val=4)


def _fit(shapes: Path, **kw: object) -> tuple[list[np.ndarray], dict]:
    model = odkit.models.build("detector-n", num_classes=3, imgsz=64, warmup_iters=2, seed=0)
    history = model.fit(shapes, epochs=1, batch_size=2, seed=0, device="cpu", verbose=0, **kw)
    return model.get_weights(), history.history


def test_fit_options_on_the_cpu(shapes: Path) -> None:
    """bf16 autocast trains and validates (finite, close to float32); channels_last and a DataLoader with a
    worker process give float32's weights (channels_last up to rounding)."""
    ref_w, ref_h = _fit(shapes)
    cl_w, _ = _fit(shapes, channels_last=True)
    for a, b in zip(ref_w, cl_w):
        np.testing.assert_allclose(b, a, atol=1e-4, rtol=0)
    wk_w, wk_h = _fit(shapes, workers=1)
    for a, b in zip(ref_w, wk_w):
        np.testing.assert_array_equal(b, a)
    assert wk_h == ref_h
    bf_w, bf_h = _fit(shapes, amp="bf16")
    assert all(np.isfinite(w).all() for w in bf_w)
    assert bf_h["loss"][0] == pytest.approx(ref_h["loss"][0], rel=0.05)
    assert np.isfinite(bf_h["val_map"][0])


def test_fit_rejects_bad_options(shapes: Path) -> None:
    model = odkit.models.build("detector-n", num_classes=3, imgsz=64)
    with pytest.raises(ValueError, match="amp must be one of"):
        model.fit(shapes, amp="fp8", device="cpu", verbose=0)
    with pytest.raises(ValueError, match="workers must be >= 0"):
        model.fit(shapes, workers=-1, device="cpu", verbose=0)
