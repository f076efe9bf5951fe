"""Class-aware NMS appended to an exported detector graph (ONNX ``NonMaxSuppression``), for ``--nms``.

The exported graph ends with ``boxes (B, P, 4)`` xyxy input pixels and ``scores (B, P, C)``; this adds three
scalar graph inputs, read at each run:

- ``conf`` float32: lowest score kept (ONNX keeps ``score > conf``; odkit passes the float32 just below its
  ``conf`` so that ``score >= conf`` is kept, as in PyTorch);
- ``iou`` float32: IoU threshold (ONNX drops a box whose IoU with a kept one is ``> iou``; odkit's NMS drops
  ``>= iou``: the two differ only on exact ties);
- ``max_det`` int64: most boxes kept per image *and class*,

and three outputs: ``det_indices (K, 3)`` int64 rows ``(image, class, location)``, ``det_boxes (K, 4)`` xyxy
input pixels, ``det_scores (K,)`` float32, over the whole batch. Before NMS each image keeps its
``pre_nms_top_k`` best (location, class) scores as ``odkit.models._fcos.decode`` does (scores below the k-th are
set to -1; ties at the k-th are all kept). NMS is class-aware natively (ONNX NMS runs per class); sorting by
score and cutting to ``max_det`` over all classes is left to the caller (:class:`OnnxModel` does it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Opset of NonMaxSuppression-11 and GatherND-11, the ops appended here.
MIN_OPSET = 11


def append_nms(model: Any, num_locations: int, num_classes: int, pre_nms_top_k: int) -> Any:
    """A copy of the exported detector ``model`` (``onnx.ModelProto``) with NMS after ``boxes`` / ``scores``.

    Args:
        model: the graph exported by :func:`odkit.export.export_onnx`, outputs ``boxes`` and ``scores``.
        num_locations, num_classes: P and C of ``scores`` (B, P, C).
        pre_nms_top_k: candidates per image before NMS (over locations x classes).

    Returns:
        the new ``onnx.ModelProto`` (the argument is not modified).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    k = int(min(pre_nms_top_k, num_locations * num_classes))

    def const(name: str, array: np.ndarray) -> None:
        graph.initializer.append(numpy_helper.from_array(array, name))

    const("nms_flat_shape", np.asarray([0, -1], np.int64))
    const("nms_k", np.asarray([k], np.int64))
    const("nms_k_start", np.asarray([k - 1], np.int64))
    const("nms_k_end", np.asarray([k], np.int64))
    const("nms_axis1", np.asarray([1], np.int64))
    const("nms_kth_shape", np.asarray([0, 1, 1], np.int64))
    const("nms_dropped", np.asarray(-1.0, np.float32))
    const("nms_image_location", np.asarray([0, 2], np.int64))
    graph.node.extend([
        helper.make_node("Transpose", ["scores"], ["nms_scores_bcp"], perm=[0, 2, 1]),  # (B, C, P)
        helper.make_node("Reshape", ["scores", "nms_flat_shape"], ["nms_flat"]),  # (B, P*C)
        helper.make_node("TopK", ["nms_flat", "nms_k"], ["nms_top_values", "nms_top_indices"], axis=-1),
        helper.make_node("Slice", ["nms_top_values", "nms_k_start", "nms_k_end", "nms_axis1"], ["nms_kth"]),
        helper.make_node("Reshape", ["nms_kth", "nms_kth_shape"], ["nms_kth_b11"]),  # (B, 1, 1)
        helper.make_node("Less", ["nms_scores_bcp", "nms_kth_b11"], ["nms_below_kth"]),
        helper.make_node("Where", ["nms_below_kth", "nms_dropped", "nms_scores_bcp"], ["nms_candidates"]),
        helper.make_node("NonMaxSuppression", ["boxes", "nms_candidates", "max_det", "iou", "conf"],
                         ["det_indices"], center_point_box=0),  # (K, 3): image, class, location
        helper.make_node("Gather", ["det_indices", "nms_image_location"], ["nms_image_location_idx"], axis=1),
        helper.make_node("GatherND", ["boxes", "nms_image_location_idx"], ["det_boxes"]),  # (K, 4)
        helper.make_node("GatherND", ["nms_scores_bcp", "det_indices"], ["det_scores"]),  # (K,)
    ])
    graph.input.extend([helper.make_tensor_value_info("conf", TensorProto.FLOAT, []),
                        helper.make_tensor_value_info("iou", TensorProto.FLOAT, []),
                        helper.make_tensor_value_info("max_det", TensorProto.INT64, [])])
    del graph.output[:]
    graph.output.extend([helper.make_tensor_value_info("det_indices", TensorProto.INT64, ["num_dets", 3]),
                         helper.make_tensor_value_info("det_boxes", TensorProto.FLOAT, ["num_dets", 4]),
                         helper.make_tensor_value_info("det_scores", TensorProto.FLOAT, ["num_dets"])])
    return out
