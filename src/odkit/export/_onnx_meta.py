"""What an odkit ONNX file says about itself: the ``metadata_props`` keys, written at export, read at load.

Every value is a string (ONNX metadata is string to string); lists and objects are JSON:

- ``odkit_format``: ``"odkit-onnx"``; ``odkit_schema_version``: ``"1"``; ``odkit_version``: the exporting odkit;
- ``odkit_task``: ``"detect"`` or ``"classify"``; ``odkit_model``: the registry name (``"detector-n"``);
- ``odkit_class_names``: JSON list of class names, in label order;
- ``odkit_input_hw``: JSON ``[height, width]`` of the network input, in pixels;
- ``odkit_batch``: the static batch size (``"1"``), or ``"dynamic"``;
- ``odkit_preprocess``: JSON, e.g. ``{"resize": "letterbox", "fill": 114, "color_mode": "rgb", "scale": "0..255",
  "layout": "NCHW", "dtype": "float32"}`` for a detector;
- ``odkit_nms``: JSON ``{"in_graph": bool, "pre_nms_top_k": 1000}`` (detectors only);
- ``odkit_outputs``: a sentence naming the outputs, their shapes and formats.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from odkit.errors import CheckpointError

FORMAT = "odkit-onnx"
SCHEMA_VERSION = 1
TASKS = ("detect", "classify")


@dataclass(frozen=True)
class OnnxInfo:
    """The parsed odkit metadata of an ONNX file.

    Attributes:
        task: ``"detect"`` or ``"classify"``.
        model_name: the odkit registry name of the exported model.
        class_names: class name per label index.
        input_hw: (height, width) of the network input in pixels.
        batch: the static batch size, or None when the batch axis is dynamic.
        preprocess: how images become the input (see the module docstring).
        nms_in_graph: the graph ends with NonMaxSuppression (detectors).
        pre_nms_top_k: candidates kept per image before NMS (detectors; as ``odkit.models._fcos.decode``).
    """

    task: str
    model_name: str
    class_names: list[str]
    input_hw: tuple[int, int]
    batch: int | None
    preprocess: dict[str, Any] = field(default_factory=dict)
    nms_in_graph: bool = False
    pre_nms_top_k: int = 1000

    def to_props(self, odkit_version: str, outputs: str) -> dict[str, str]:
        """The ``metadata_props`` entries, all strings."""
        props = {"odkit_format": FORMAT, "odkit_schema_version": str(SCHEMA_VERSION), "odkit_version": odkit_version,
                 "odkit_task": self.task, "odkit_model": self.model_name,
                 "odkit_class_names": json.dumps(self.class_names), "odkit_input_hw": json.dumps(list(self.input_hw)),
                 "odkit_batch": "dynamic" if self.batch is None else str(self.batch),
                 "odkit_preprocess": json.dumps(self.preprocess), "odkit_outputs": outputs}
        if self.task == "detect":
            props["odkit_nms"] = json.dumps({"in_graph": self.nms_in_graph, "pre_nms_top_k": self.pre_nms_top_k})
        return props


def parse_props(props: Mapping[str, str], where: str) -> OnnxInfo:
    """Read the odkit metadata of an ONNX file.

    Raises:
        CheckpointError: no odkit metadata (an ONNX file odkit did not export), a newer schema, or a value that
            does not parse; the message names ``where`` and the key.
    """
    if props.get("odkit_format") != FORMAT:
        raise CheckpointError(f"{where}: not an odkit ONNX export: expected metadata odkit_format={FORMAT!r}; found "
                              f"{props.get('odkit_format')!r} (export one with `odkit export MODEL.odk --format onnx`)")

    def value(key: str) -> Any:
        if key not in props:
            raise CheckpointError(f"{where}: odkit ONNX metadata lacks {key!r}")
        try:
            return json.loads(props[key])
        except ValueError:
            raise CheckpointError(f"{where}: metadata {key!r} is not JSON: {props[key]!r}") from None

    version = value("odkit_schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise CheckpointError(f"{where}: odkit ONNX schema version {version!r}; this odkit reads up to "
                              f"{SCHEMA_VERSION}")
    task = props.get("odkit_task")
    if task not in TASKS:
        raise CheckpointError(f"{where}: metadata odkit_task must be one of {list(TASKS)}; found {task!r}")
    names, hw, pre = value("odkit_class_names"), value("odkit_input_hw"), value("odkit_preprocess")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise CheckpointError(f"{where}: metadata odkit_class_names must be a JSON list of strings; found {names!r}")
    if not (isinstance(hw, list) and len(hw) == 2 and all(isinstance(v, int) and v > 0 for v in hw)):
        raise CheckpointError(f"{where}: metadata odkit_input_hw must be [height, width]; found {hw!r}")
    batch_text = props.get("odkit_batch", "")
    if batch_text != "dynamic" and not batch_text.isdigit():
        raise CheckpointError(f"{where}: metadata odkit_batch must be a positive integer or 'dynamic'; found "
                              f"{batch_text!r}")
    nms = value("odkit_nms") if task == "detect" else {}
    return OnnxInfo(task=task, model_name=str(props.get("odkit_model", "")), class_names=names,
                    input_hw=(hw[0], hw[1]), batch=None if batch_text == "dynamic" else int(batch_text),
                    preprocess=pre if isinstance(pre, dict) else {}, nms_in_graph=bool(nms.get("in_graph", False)),
                    pre_nms_top_k=int(nms.get("pre_nms_top_k", 1000)))
