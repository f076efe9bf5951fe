"""``detector-n`` / ``detector-s``: FCOS-style anchor-free detectors with Keras' fit / evaluate / predict.

Example::

    model = odkit.models.build("detector-s", num_classes=3, class_names=["RBC", "WBC", "Platelets"])
    train = detection_dataset("datasets/bccd/BCCD", split="train", drop_degenerate=True)
    val = detection_dataset("datasets/bccd/BCCD", split="val", drop_degenerate=True)
    model.fit(train, validation_data=val, epochs=100, callbacks=[TimeLimit(600)], seed=0)
    dets = model.predict("photo.jpg", conf=0.25)[0]   # Detections, xyxy pixels of photo.jpg

The network and its loss are in ``_fcos.py``, the data feeding in ``_detector_data.py``, the training step, EMA
and schedule in ``_detector_steps.py``, validation (losses and COCO mAP) in ``_detector_eval.py``. Training defaults are
for from-scratch CPU runs (measured in ``shared/reference/detectors-from-scratch-on-cpu.md``): AdamW lr 2e-3,
weight decay 0.05 (not on norms and biases), linear warm-up then cosine (to ``epochs``, or to the budget of a
``TimeLimit`` callback when there is one, whichever ends first), gradient norm clipping at 10, and an EMA of the
weights. The EMA weights are what validation, ``predict``, ``save`` and the callbacks see: at each epoch end
the model holds the EMA weights, and the training weights come back at the next epoch's start.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from odkit.boxes import Detections
from odkit.models._base import Model, resolve_device
from odkit.models._compile import make_optimizer
from odkit.models._data import images_to_tensor
from odkit.models._detector_data import DetectionFeed, VerticalFlip, load_letterboxed
from odkit.models._detector_eval import LOSS_KEYS, DetectorEvaluation
from odkit.models._detector_steps import AMP_DTYPES, DetectorSteps
from odkit.models._distributed import process_device
from odkit.models._fcos import SIZES, FCOSNet, decode, fcos_loss
from odkit.models._registry import register


def _image_hw(image_hw: Sequence[int] | None, imgsz: int | Sequence[int] | None) -> tuple[int, int]:
    if imgsz is not None:
        if image_hw is not None:
            raise ValueError("give image_hw or imgsz, not both")
        image_hw = (imgsz, imgsz) if isinstance(imgsz, int) else imgsz
    hw = (288, 384) if image_hw is None else tuple(int(v) for v in image_hw)
    if len(hw) != 2 or min(hw) < 32:
        raise ValueError(f"image_hw must be (height, width), each >= 32 pixels; got {image_hw!r}")
    return hw[0], hw[1]


class Detector(DetectorEvaluation, DetectorSteps, Model):
    """FCOS-style detector: ResNet-style conv-BN backbone, FPN P3-P5, shared GroupNorm heads.

    Args:
        num_classes: number of object classes (label indices ``0..num_classes-1``).
        class_names: their names, in label order.
        image_hw: (height, width) the images are letterboxed to, in pixels; default (288, 384).
        imgsz: instead of ``image_hw``: an int (square) or (height, width).
        learning_rate, weight_decay: AdamW's, for ``compile()``'s default optimizer.
        warmup_iters: linear warm-up steps (at most a fifth of the planned steps).
        ema_decay: the EMA's decay (ramped up as ``min(ema_decay, (1 + n) / (10 + n))`` after n steps).
        batch_size: images per training batch, when ``fit`` gets no ``batch_size``.
        scale_range: random scale of the default training transforms.
        vertical_flip: add vertical flips to the default training transforms (data with no up: cells).
        center_radius: FCOS centre sampling radius, in strides.
    """

    size = "s"
    task = "detect"

    def __init__(self, num_classes: int, class_names: Sequence[str] | None = None,
                 image_hw: Sequence[int] | None = None, imgsz: int | Sequence[int] | None = None,
                 learning_rate: float = 2e-3, weight_decay: float = 0.05, warmup_iters: int = 100,
                 ema_decay: float = 0.999, batch_size: int = 8, scale_range: Sequence[float] = (0.75, 1.33),
                 vertical_flip: bool = False, center_radius: float = 1.5) -> None:
        super().__init__(class_names=class_names)
        if int(num_classes) < 1:
            raise ValueError(f"num_classes must be >= 1; got {num_classes}")
        if class_names is not None and len(class_names) != num_classes:
            raise ValueError(f"{len(class_names)} class_names for num_classes={num_classes}")
        hw = _image_hw(image_hw, imgsz)
        self.config = {"num_classes": int(num_classes), "class_names": self.class_names, "image_hw": list(hw),
                       "learning_rate": float(learning_rate), "weight_decay": float(weight_decay),
                       "warmup_iters": int(warmup_iters), "ema_decay": float(ema_decay),
                       "batch_size": int(batch_size), "scale_range": [float(v) for v in scale_range],
                       "vertical_flip": bool(vertical_flip), "center_radius": float(center_radius)}
        spec = SIZES[self.size]
        self.net = FCOSNet(int(num_classes), spec["widths"], spec["fpn"], spec["groups"])  # type: ignore[arg-type]
        self.image_hw = hw
        self.input_info = {"image_hw": list(hw), "channels": 3, "color_mode": "rgb", "resize": "letterbox",
                           "fill": 114, "scale": "0..255"}
        self._ema: dict[str, torch.Tensor] | None = None
        self._train_state: dict[str, torch.Tensor] | None = None
        self._updates = 0
        self._total_steps = 1
        self._time_budget: float | None = None
        self._t0: float | None = None

    # ---- the network -------------------------------------------------------------------------
    def forward(self, images: torch.Tensor, targets: Sequence[dict[str, Any]] | None = None) -> Any:
        """Raw outputs ``(cls_logits (B, P, C), ltrb (B, P, 4) pixels, centerness_logits (B, P))`` for
        ``(B, 3, H, W)`` float32 images in 0..255; with ``targets`` (per image ``boxes`` (K, 4) xyxy input
        pixels, ``labels`` (K,) int64), the loss dict ``{"loss", "cls_loss", "box_loss", "ctr_loss"}``."""
        outputs = self.net(images)
        if targets is None:
            return outputs
        return self.compute_loss(outputs, targets, (int(images.shape[2]), int(images.shape[3])))

    def compute_loss(self, outputs: Any, targets: Sequence[dict[str, Any]], image_hw: tuple[int, int]
                     ) -> dict[str, torch.Tensor]:
        """The FCOS losses of raw ``outputs`` against per-image targets (xyxy input pixels, label indices)."""
        tensors = [{"boxes": torch.as_tensor(np.asarray(t["boxes"], np.float32).reshape(-1, 4)),
                    "labels": torch.as_tensor(np.asarray(t["labels"], np.int64))} for t in targets]
        return fcos_loss(outputs, tensors, image_hw, radius=self.config["center_radius"])

    def metric_direction(self, name: str) -> str | None:
        if name in ("map", "map50", "map75"):
            return "max"
        if name in LOSS_KEYS:
            return "min"
        return None

    def default_transforms(self, train: bool = True) -> Any:
        """The pipeline a dataset without transforms gets: letterbox to ``image_hw``; for training also random
        scale with shift, horizontal (and optionally vertical) flips and colour jitter."""
        from odkit.data import ColorJitter, Compose, HorizontalFlip, Letterbox, RandomCrop, RandomScale

        if not train:
            return Letterbox(self.image_hw)
        low, high = self.config["scale_range"]
        steps: list[Any] = [Letterbox(self.image_hw), RandomScale((low, high)),
                            RandomCrop(self.image_hw, min_visibility=0.35), HorizontalFlip()]
        if self.config["vertical_flip"]:
            steps.append(VerticalFlip())
        steps.append(ColorJitter(0.2, 0.2, 0.3, 0.015))
        return Compose(steps)

    # ---- compile / fit -----------------------------------------------------------------------
    def compile(self, optimizer: Any = "adamw", loss: Any = None, metrics: Sequence[Any] | None = None) -> Detector:
        """The optimizer (``"adamw"``: the model's defaults, no weight decay on norms and biases; or any of
        ``Model.compile``'s); the loss is the detector's own, the metrics ``map50`` / ``map`` always."""
        if loss not in (None, "fcos"):
            raise ValueError(f"the detector trains with its own loss (focal + GIoU + centerness); got loss={loss!r}")
        if metrics:
            raise ValueError("the detector's metrics are always map50 and map (from odkit.eval); pass metrics=None")
        if isinstance(optimizer, str) and optimizer.lower() == "adamw":
            decay, no_decay = [], []
            for p in self.parameters():
                if p.requires_grad:
                    (decay if p.ndim > 1 else no_decay).append(p)
            self.optimizer = torch.optim.AdamW(
                [{"params": decay, "weight_decay": self.config["weight_decay"]},
                 {"params": no_decay, "weight_decay": 0.0}], lr=self.config["learning_rate"])
        else:
            self.optimizer = make_optimizer(optimizer, [p for p in self.parameters() if p.requires_grad])
        for group in self.optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self._optimizer_spec = optimizer
        self.loss_name, self._loss_fn, self._metrics = "fcos", self._total_loss, []
        return self

    def _total_loss(self, outputs: Any, targets: Any) -> torch.Tensor:
        """``fn(outputs, targets) -> loss`` as ``Model`` keeps it, for inputs of the model's ``image_hw``."""
        return self.compute_loss(outputs, targets, self.image_hw)["loss"]

    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None, epochs: int = 1, verbose: int = 1,
            callbacks: Sequence[Any] | None = None, validation_split: float = 0.0, validation_data: Any = None,
            shuffle: bool = True, initial_epoch: int = 0, *, seed: int | None = None, device: str = "auto",
            time_budget: float | None = None, validation_freq: int = 1, amp: str = "off",
            channels_last: bool | None = None, workers: int = 0, sync_bn: bool = True) -> Any:
        """Train on a detection dataset (or a path ``odkit.io`` reads: its ``train`` split, and its ``val``
        split for validation when ``validation_data`` is None); see ``Model.fit`` for the Keras arguments.

        Args:
            x: a ``detection_dataset(...)`` (no transforms: :meth:`default_transforms`), an ``odkit.io.Dataset``
                or a path.
            batch_size: images per step (default: the config's ``batch_size``).
            validation_data: a detection dataset or path; logs ``val_loss`` and its parts, ``val_map50``,
                ``val_map`` (COCO, on the original images' pixels).
            seed: same seed, same weights (CPU): initial order, augmentation order, torch's RNG.
            time_budget: seconds the learning-rate schedule is fitted to (default: a ``TimeLimit`` callback's).
            amp: ``"off"`` (float32), ``"bf16"`` or ``"fp16"``: the network under ``torch.autocast`` in that
                dtype (the loss in float32); fp16 with a gradient scaler. bf16 works on the CPU too (slower
                there than float32 on most CPUs); fp16 is for GPUs.
            channels_last: weights and images channels-last in memory (faster convolutions on GPUs with tensor
                cores); None: on CUDA only.
            workers: 0: images decoded and augmented by two threads of this process (kept decoded in
                memory); N: a ``DataLoader`` with N worker processes, with pinned memory on CUDA.
            sync_bn: under torchrun, BatchNorm statistics over the global batch (every rank's images), so
                that N processes train as one does on the global batch; False: each rank's own.

        Under ``torchrun --nproc_per_node N`` (``WORLD_SIZE`` > 1) each of the N processes takes
        ``batch_size`` images of every global batch of ``N x batch_size`` (gloo on the CPU, nccl on CUDA, one
        GPU per process); validation is split by batch and its COCO evaluation merged, so the logs are the
        global ones on every rank; only rank 0 runs the callbacks that write files and prints.
        """
        if amp not in AMP_DTYPES:
            raise ValueError(f"amp must be one of {list(AMP_DTYPES)}; got {amp!r}")
        if int(workers) < 0:
            raise ValueError(f"workers must be >= 0; got {workers}")
        if y is not None:
            raise ValueError("y must be None: a detection dataset yields its own targets")
        if validation_split:
            raise ValueError("validation_split needs arrays; for a detector pass validation_data (or a path with a "
                             "val split)")
        budget = time_budget
        for cb in callbacks or []:
            if type(cb).__name__ == "TimeLimit" and getattr(cb, "seconds", None):
                budget = cb.seconds if budget is None else min(budget, cb.seconds)
        self._time_budget, self._t0 = budget, None
        self._fit_seed = seed if seed is not None else int(np.random.SeedSequence().entropy % (2**31))
        self._fit_batch = int(batch_size or self.config["batch_size"])
        self._fit_shuffle = shuffle
        self._fit_epochs = max(0, epochs - initial_epoch)
        self._fit_workers = int(workers)
        self._sync_bn = bool(sync_bn)
        if validation_data is None and isinstance(x, (str, os.PathLike)):
            validation_data = self._val_from_path(x)
        dev = process_device(resolve_device(device))
        self.to(dev)
        if self.optimizer is None:
            self.compile()  # Model.fit compiles only when no loss is set: the detector's defaults first
        self._total_steps = 1  # set by _sources, once the ranks' shares are known
        # each fit starts its EMA from the weights the model holds when training starts (after a callback such
        # as BackupAndRestore may have loaded some), and from there on trains those weights
        self._train_state, self._ema, self._updates = None, None, 0
        self._amp = amp
        self._scaler = torch.amp.GradScaler(dev.type) if amp == "fp16" else None
        self._channels_last = dev.type == "cuda" if channels_last is None else bool(channels_last)
        if self._channels_last:
            self.to(memory_format=torch.channels_last)
        try:
            return super().fit(x, None, self._fit_batch, epochs, verbose, callbacks, 0.0, validation_data, shuffle,
                               initial_epoch, seed=seed, device=str(dev), validation_freq=validation_freq)
        finally:
            self._amp, self._scaler, self._channels_last = "off", None, False

    def _supports_distributed(self) -> bool:
        return True

    def _val_from_path(self, path: Any) -> Any:
        from odkit.io import read_annotations

        dataset = read_annotations(path)
        name = next((s for s in ("val", "valid", "validation") if s in dataset.splits), None)
        return None if name is None else self._detection_dataset(dataset, name)

    @staticmethod
    def _detection_dataset(source: Any, split: str | None) -> Any:
        from odkit.data import detection_dataset

        return detection_dataset(source, split=split, drop_degenerate=True)

    def _as_dataset(self, x: Any, split: str | None, train: bool) -> Any:
        from odkit.data import DetectionDataset
        from odkit.io import Dataset, read_annotations

        if isinstance(x, (str, os.PathLike)):
            x = read_annotations(x)
        if isinstance(x, Dataset):
            x = self._detection_dataset(x, split if split in x.splits else None)
        if not isinstance(x, DetectionDataset):
            raise TypeError(f"the detector trains on a detection_dataset(...), an odkit.io.Dataset or a path; got "
                            f"{type(x).__name__}")
        if x.transforms is None:
            x = copy.copy(x)
            x.transforms = self.default_transforms(train=train)
        return x

    def _train_dataset(self, x: Any) -> Any:
        cached = getattr(self, "_train_ds_cache", None)
        if cached is not None and cached[0] is x:
            return cached[1]
        ds = self._as_dataset(x, "train", True)
        self._train_ds_cache = (x, ds)
        return ds

    def _sources(self, x: Any, y: Any, batch_size: int | None, validation_split: float, validation_data: Any,
                 shuffle: bool, seed: int | None) -> tuple[Any, Any]:
        from odkit.models._distributed import broadcast_object

        info = self._dist
        if info.active:  # every rank shuffles alike (a seed drawn at random differs per process)
            self._fit_seed = int(broadcast_object(self._fit_seed))
        pin = self.device.type == "cuda"
        workers = getattr(self, "_fit_workers", 0)
        train = DetectionFeed(self._train_dataset(x), self._fit_batch, self._fit_shuffle, self._fit_seed,
                              workers=workers, pin_memory=pin, dist=info, shard="image")
        self._train_ds_cache = None
        self._total_steps = max(1, getattr(self, "_fit_epochs", 1) * train.steps())
        train.peek_images = lambda: np.zeros((1, *self.image_hw, 3), np.uint8)  # type: ignore[attr-defined]
        val = None
        if validation_data is not None:
            # under torchrun: whole batches of the global size round robin, each the batch one process sees
            val = DetectionFeed(self._as_dataset(validation_data, "val", False), self._fit_batch * info.world_size,
                                False, 0, workers=workers, pin_memory=pin, dist=info, shard="batch")
        return train, val

    # ---- evaluation (validation during fit: _detector_eval.DetectorEvaluation) ----------------
    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None, verbose: int = 0,
                 return_dict: bool = False, *, device: str | None = None) -> Any:
        """``[loss, cls_loss, box_loss, ctr_loss, map50, map]`` on a detection dataset or path (its ``val``
        split), or that dict with ``return_dict=True``."""
        if y is not None:
            raise ValueError("y must be None: a detection dataset yields its own targets")
        if device is not None:
            self.to(resolve_device(device))
        if isinstance(x, (str, os.PathLike)):
            x = self._val_from_path(x) or self._detection_dataset(x, None)
        feed = DetectionFeed(self._as_dataset(x, "val", False), int(batch_size or self.config["batch_size"]),
                             False, 0)
        logs = self._evaluate_source(feed)
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        return logs if return_dict else list(logs.values())

    # ---- predict -----------------------------------------------------------------------------
    def _detections(self, outputs: Any, image_hw: tuple[int, int], conf: float, iou: float, max_det: int
                    ) -> list[Detections]:
        from odkit.ops import batched_nms

        out = []
        for boxes, scores, labels in decode(outputs, image_hw, conf):
            b = boxes.double().cpu().numpy()
            s = scores.double().cpu().numpy()
            c = labels.cpu().numpy().astype(np.int64)
            keep = batched_nms(b, s, c, iou, max_det=max_det)
            out.append(Detections(b[keep], s[keep], c[keep]))
        return out

    def predict(self, x: Any, batch_size: int | None = 8, verbose: int = 0, *, conf: float = 0.25, iou: float = 0.5,
                max_det: int = 100, device: str | None = None, stream: bool = False
                ) -> list[Detections] | Iterator[Detections]:
        """Detections per image, boxes xyxy in the original image's pixels (the letterbox undone).

        Args:
            x: an image path, a folder (its images in name order), a glob pattern, a list file, a video (its
                frames), a list of paths or (H, W, C) arrays, an (N, H, W, C) array (uint8, or floats in 0..1
                or 0..255), or a dataset (an ``odkit.io.Dataset``, a dataset path, or a detection dataset:
                its images as decoded, its transforms not used); see ``odkit.models._sources``.
            batch_size: images letterboxed and run through the network at a time.
            conf: lowest score kept (``sqrt(class probability * centerness)``).
            iou: class-aware NMS IoU threshold (``odkit.ops.batched_nms``).
            max_det: most detections per image, all classes together.
            device: ``"auto"`` (cuda, mps, cpu), ``"cpu"``, ``"cuda:0"``...; None: where the model is.
            stream: return a generator that yields each image's detections as its batch is done (a long
                video is never held in memory) instead of the list.

        Returns:
            One ``odkit.boxes.Detections`` per image, in input order; ``class_ids`` are label indices
            (names: ``model.class_names``).

        Raises:
            TypeError: ``x`` is none of the above. ``DatasetError``: a missing file, an empty folder, a video
                OpenCV cannot open (when the source is looked at, before any image is predicted).
        """
        from odkit.data import unletterbox_boxes
        from odkit.models._sources import chunks, resolve_predict_source

        source = resolve_predict_source(x)
        if device is not None:
            self.to(resolve_device(device))

        def detections() -> Iterator[Detections]:
            for chunk in chunks(iter(source), int(batch_size or 8)):
                loaded = [load_letterboxed(item.image, self.image_hw) for item in chunk]
                with torch.no_grad():
                    self.eval()
                    images = images_to_tensor(np.stack([im for im, _ in loaded]), self.device)
                    dets = self._detections(self(images), self.image_hw, conf, iou, max_det)
                for det, (_, info) in zip(dets, loaded):
                    yield Detections(unletterbox_boxes(det.boxes_xyxy, info).astype(np.float64), det.scores,
                                     det.class_ids)

        return detections() if stream else list(detections())


@register("detector-n")
class DetectorN(Detector):
    """``detector-n``: backbone widths 8/16/32/48/64, FPN and heads 32 wide (~0.26M parameters)."""

    name = "detector-n"
    size = "n"


@register("detector-s")
class DetectorS(Detector):
    """``detector-s``: backbone widths 16/32/64/96/128, FPN and heads 64 wide (~1.0M parameters)."""

    name = "detector-s"
    size = "s"
