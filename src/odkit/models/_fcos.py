"""The FCOS-style network behind ``detector-n`` / ``detector-s``: backbone, FPN, head, targets, loss, decoding.

Anchor-free (Tian et al., FCOS, 2019): every location of the P3-P5 feature maps (strides 8, 16, 32) predicts
a class score per class (sigmoid), the distances (left, top, right, bottom) from the location to the box
sides, in input pixels, and a centerness. Trained from scratch, hence: BatchNorm in the backbone and FPN,
GroupNorm in the shared heads (batch-size independent), the focal-loss prior on the class bias.

Tensor conventions: images ``(B, 3, H, W)`` float32 in 0..255; ``P`` locations over all levels, level by
level, row-major; boxes absolute xyxy in input pixels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

#: Per-size widths: backbone stages (strides 2, 4, 8, 16, 32), FPN / head width, GroupNorm groups.
SIZES: dict[str, dict[str, object]] = {
    "n": {"widths": (8, 16, 32, 48, 64), "fpn": 32, "groups": 8},
    "s": {"widths": (16, 32, 64, 96, 128), "fpn": 64, "groups": 16},
}
STRIDES = (8, 16, 32)
#: Object size range (max of l, t, r, b in pixels) each level is responsible for.
RANGES = ((0.0, 64.0), (64.0, 128.0), (128.0, math.inf))


def _conv_bn(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


class _BasicBlock(nn.Module):
    """ResNet basic block: two 3x3 conv-BN, identity shortcut."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1 = _conv_bn(c, c)
        self.conv2 = nn.Conv2d(c, c, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        nn.init.zeros_(self.bn2.weight)  # each block starts as the identity: steadier from scratch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.bn2(self.conv2(self.conv1(x))))


class Backbone(nn.Module):
    """Plain conv-BN-ReLU ResNet-style backbone: five stride-2 stages; returns C3, C4, C5 (strides 8, 16, 32)."""

    def __init__(self, widths: Sequence[int]) -> None:
        super().__init__()
        w = list(widths)
        self.stem = _conv_bn(3, w[0], 2)
        self.stages = nn.ModuleList(
            nn.Sequential(_conv_bn(w[i - 1], w[i], 2), _BasicBlock(w[i])) for i in range(1, len(w))
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats[-3:]


class FPN(nn.Module):
    """Top-down feature pyramid: 1x1 laterals, nearest upsampling and sum, a 3x3 conv-BN-ReLU per level."""

    def __init__(self, in_channels: Sequence[int], width: int) -> None:
        super().__init__()
        self.lateral = nn.ModuleList(nn.Conv2d(c, width, 1) for c in in_channels)
        self.output = nn.ModuleList(_conv_bn(width, width) for _ in in_channels)

    def forward(self, feats: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        laterals = [conv(f) for conv, f in zip(self.lateral, feats)]
        for i in range(len(laterals) - 1, 0, -1):
            laterals[i - 1] = laterals[i - 1] + F.interpolate(laterals[i], size=laterals[i - 1].shape[-2:],
                                                              mode="nearest")
        return [conv(x) for conv, x in zip(self.output, laterals)]


def _gn_tower(width: int, groups: int, depth: int = 2) -> nn.Sequential:
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Conv2d(width, width, 3, 1, 1, bias=False), nn.GroupNorm(groups, width), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class Head(nn.Module):
    """Heads shared by all levels: a class tower (-> C logits) and a box tower (-> ltrb, centerness).

    The ltrb output is ``relu(scale_level * t) * stride``: a learnt scale per level, in pixels.
    """

    def __init__(self, width: int, num_classes: int, groups: int, num_levels: int = 3, prior: float = 0.01) -> None:
        super().__init__()
        self.cls_tower = _gn_tower(width, groups)
        self.box_tower = _gn_tower(width, groups)
        self.cls_out = nn.Conv2d(width, num_classes, 3, 1, 1)
        self.box_out = nn.Conv2d(width, 4, 3, 1, 1)
        self.ctr_out = nn.Conv2d(width, 1, 3, 1, 1)
        self.scales = nn.Parameter(torch.ones(num_levels))
        for m in (*self.cls_tower, *self.box_tower, self.cls_out, self.box_out, self.ctr_out):
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, std=0.01)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        nn.init.constant_(self.cls_out.bias, -math.log((1 - prior) / prior))

    def forward(self, feats: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        cls, box, ctr = [], [], []
        for level, (f, stride) in enumerate(zip(feats, STRIDES)):
            b = f.shape[0]
            c = self.cls_out(self.cls_tower(f))
            t = self.box_tower(f)
            cls.append(c.flatten(2).transpose(1, 2))  # (B, h*w, C)
            ltrb = F.relu(self.scales[level] * self.box_out(t)) * stride
            box.append(ltrb.flatten(2).transpose(1, 2))  # (B, h*w, 4)
            ctr.append(self.ctr_out(t).reshape(b, -1))  # (B, h*w)
        return torch.cat(cls, 1), torch.cat(box, 1), torch.cat(ctr, 1)


class FCOSNet(nn.Module):
    """Backbone + FPN + head. ``forward(images)`` -> ``(cls_logits (B, P, C), ltrb (B, P, 4) pixels,
    centerness_logits (B, P))``."""

    def __init__(self, num_classes: int, widths: Sequence[int], fpn_width: int, groups: int) -> None:
        super().__init__()
        self.backbone = Backbone(widths)
        self.fpn = FPN(list(widths)[-3:], fpn_width)
        self.head = Head(fpn_width, num_classes, groups)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = (images * (1.0 / 255.0) - 0.45) * (1.0 / 0.25)
        return self.head(self.fpn(self.backbone(x)))


def level_shapes(image_hw: tuple[int, int]) -> list[tuple[int, int]]:
    """(h, w) of the P3, P4, P5 maps for an input of ``image_hw`` (the stride-2 convs round up)."""
    h, w = int(image_hw[0]), int(image_hw[1])
    shapes = []
    for k in range(1, 6):
        h, w = (h + 1) // 2, (w + 1) // 2
        if k >= 3:
            shapes.append((h, w))
    return shapes


def make_points(image_hw: tuple[int, int], device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Location centres ``(P, 2)`` xy pixels, their stride ``(P,)`` and level index ``(P,)``."""
    pts, strides, levels = [], [], []
    for level, ((h, w), s) in enumerate(zip(level_shapes(image_hw), STRIDES)):
        ys = (torch.arange(h, device=device, dtype=torch.float32) + 0.5) * s
        xs = (torch.arange(w, device=device, dtype=torch.float32) + 0.5) * s
        yy, xx = torch.meshgrid(ys, xs, indexing="ij")
        pts.append(torch.stack([xx.reshape(-1), yy.reshape(-1)], 1))
        strides.append(torch.full((h * w,), float(s), device=device))
        levels.append(torch.full((h * w,), level, device=device, dtype=torch.long))
    return torch.cat(pts), torch.cat(strides), torch.cat(levels)


@torch.no_grad()
def assign_targets(points: torch.Tensor, strides: torch.Tensor, levels: torch.Tensor, boxes_xyxy: torch.Tensor,
                   labels: torch.Tensor, radius: float = 1.5) -> tuple[torch.Tensor, torch.Tensor]:
    """FCOS assignment with centre sampling for one image.

    A location is positive for a box when it lies inside the box and within ``radius * stride`` of the box
    centre, and the box's largest side distance from it falls in the level's range; among several such boxes
    the smallest (by area) wins.

    Args:
        points, strides, levels: from :func:`make_points`.
        boxes_xyxy: (K, 4) absolute xyxy boxes in input pixels.
        labels: (K,) int64 label indices.

    Returns:
        ``(labels (P,) int64 with -1 for background, boxes (P, 4) xyxy of the assigned box)``.
    """
    p = points.shape[0]
    if boxes_xyxy.shape[0] == 0:
        return torch.full((p,), -1, dtype=torch.long, device=points.device), points.new_zeros((p, 4))
    x, y = points[:, 0:1], points[:, 1:2]  # (P, 1)
    b = boxes_xyxy[None]  # (1, K, 4)
    ltrb = torch.stack([x - b[..., 0], y - b[..., 1], b[..., 2] - x, b[..., 3] - y], -1)  # (P, K, 4)
    inside = ltrb.min(-1).values > 0
    cx, cy = (b[..., 0] + b[..., 2]) / 2, (b[..., 1] + b[..., 3]) / 2  # (1, K)
    r = strides[:, None] * radius  # (P, 1)
    near = ((x - cx).abs() < r) & ((y - cy).abs() < r)
    lo = points.new_tensor([a for a, _ in RANGES])[levels][:, None]
    hi = points.new_tensor([z for _, z in RANGES])[levels][:, None]
    m = ltrb.max(-1).values
    ok = inside & near & (m >= lo) & (m <= hi)
    area = ((b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])).expand(p, -1)
    area = torch.where(ok, area, torch.full_like(area, math.inf))
    best_area, best = area.min(1)
    out_labels = torch.where(torch.isfinite(best_area), labels[best], torch.full_like(best, -1))
    return out_labels, boxes_xyxy[best]


def _ltrb_to_xyxy(points: torch.Tensor, ltrb: torch.Tensor) -> torch.Tensor:
    return torch.cat([points - ltrb[..., :2], points + ltrb[..., 2:]], -1)


def _giou_loss(pred_xyxy: torch.Tensor, target_xyxy: torch.Tensor) -> torch.Tensor:
    """(N,) 1 - GIoU of paired boxes."""
    lt = torch.max(pred_xyxy[:, :2], target_xyxy[:, :2])
    rb = torch.min(pred_xyxy[:, 2:], target_xyxy[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(1)
    area_p = (pred_xyxy[:, 2:] - pred_xyxy[:, :2]).clamp(min=0).prod(1)
    area_t = (target_xyxy[:, 2:] - target_xyxy[:, :2]).clamp(min=0).prod(1)
    union = (area_p + area_t - inter).clamp(min=1e-6)
    iou = inter / union
    enclose = (torch.max(pred_xyxy[:, 2:], target_xyxy[:, 2:]) - torch.min(pred_xyxy[:, :2], target_xyxy[:, :2]))
    enclose_area = enclose.clamp(min=0).prod(1).clamp(min=1e-6)
    return 1 - (iou - (enclose_area - union) / enclose_area)


def centerness_targets(points_xy: torch.Tensor, boxes_xyxy: torch.Tensor) -> torch.Tensor:
    """FCOS' centerness target ``sqrt(min(l, r) / max(l, r) * min(t, b) / max(t, b))`` of points (N, 2) inside
    their assigned boxes (N, 4) xyxy, as (N,); 0 on a box's edge, 1 at its centre."""
    t_ltrb = torch.cat([points_xy - boxes_xyxy[:, :2], boxes_xyxy[:, 2:] - points_xy], 1)  # (N, 4)
    lr, tb = t_ltrb[:, 0::2], t_ltrb[:, 1::2]
    return torch.sqrt((lr.min(1).values / lr.max(1).values).clamp(min=0)
                      * (tb.min(1).values / tb.max(1).values).clamp(min=0))


def fcos_loss(outputs: tuple[torch.Tensor, torch.Tensor, torch.Tensor], targets: Sequence[dict[str, torch.Tensor]],
              image_hw: tuple[int, int], radius: float = 1.5, alpha: float = 0.25, gamma: float = 2.0
              ) -> dict[str, torch.Tensor]:
    """Sigmoid focal loss (classes), GIoU (boxes, weighted by the centerness target) and centerness BCE.

    Args:
        outputs: the network's ``(cls (B, P, C), ltrb (B, P, 4), ctr (B, P))``.
        targets: per image ``{"boxes": (K, 4) xyxy input pixels, "labels": (K,) int64}``.
        image_hw: the input (height, width).

    Returns:
        ``{"loss", "cls_loss", "box_loss", "ctr_loss"}`` scalars; ``loss`` is their sum.
    """
    cls, ltrb, ctr = outputs
    device = cls.device
    points, strides, levels = make_points(image_hw, device)
    assigned = [assign_targets(points, strides, levels, t["boxes"].to(device).float(), t["labels"].to(device),
                               radius) for t in targets]
    labels = torch.stack([a for a, _ in assigned])  # (B, P)
    boxes = torch.stack([b for _, b in assigned])  # (B, P, 4)
    pos = labels >= 0
    num_pos = max(float(pos.sum()), 1.0)
    onehot = torch.zeros_like(cls)
    onehot[pos] = F.one_hot(labels[pos], cls.shape[-1]).to(cls.dtype)
    prob = cls.sigmoid()
    ce = F.binary_cross_entropy_with_logits(cls, onehot, reduction="none")
    p_t = prob * onehot + (1 - prob) * (1 - onehot)
    a_t = alpha * onehot + (1 - alpha) * (1 - onehot)
    cls_loss = (a_t * (1 - p_t) ** gamma * ce).sum() / num_pos
    if not pos.any():
        zero = ltrb.sum() * 0 + ctr.sum() * 0
        return {"loss": cls_loss + zero, "cls_loss": cls_loss, "box_loss": zero, "ctr_loss": zero}
    pts = points[None].expand(cls.shape[0], -1, -1)[pos]  # (N, 2)
    tgt = boxes[pos]
    ctr_t = centerness_targets(pts, tgt)
    box_loss = (_giou_loss(_ltrb_to_xyxy(pts, ltrb[pos]), tgt) * ctr_t).sum() / ctr_t.sum().clamp(min=1e-6)
    ctr_loss = F.binary_cross_entropy_with_logits(ctr[pos], ctr_t, reduction="sum") / num_pos
    return {"loss": cls_loss + box_loss + ctr_loss, "cls_loss": cls_loss, "box_loss": box_loss, "ctr_loss": ctr_loss}


@torch.no_grad()
def decode(outputs: tuple[torch.Tensor, torch.Tensor, torch.Tensor], image_hw: tuple[int, int], conf: float,
           pre_nms_top_k: int = 1000) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Candidate detections per image, before NMS: ``(boxes (N, 4) xyxy input pixels clipped to the input,
    scores (N,) = sqrt(class prob * centerness) >= conf, labels (N,) int64)``, at most ``pre_nms_top_k``."""
    cls, ltrb, ctr = outputs
    points, _, _ = make_points(image_hw, cls.device)
    scores_all = torch.sqrt(cls.sigmoid() * ctr.sigmoid()[..., None])  # (B, P, C)
    h, w = image_hw
    out = []
    for i in range(cls.shape[0]):
        s = scores_all[i].flatten()
        keep = torch.nonzero(s >= conf).squeeze(1)
        if keep.numel() > pre_nms_top_k:
            keep = keep[s[keep].topk(pre_nms_top_k).indices]
        num_classes = cls.shape[-1]
        p_idx, c_idx = keep // num_classes, keep % num_classes
        boxes = _ltrb_to_xyxy(points[p_idx], ltrb[i, p_idx])
        boxes = torch.stack([boxes[:, 0].clamp(0, w), boxes[:, 1].clamp(0, h), boxes[:, 2].clamp(0, w),
                             boxes[:, 3].clamp(0, h)], 1)
        out.append((boxes, s[keep], c_idx))
    return out
