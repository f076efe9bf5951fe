"""Annotation files: one in-memory dataset model; COCO, Pascal VOC, YOLO and CSV readers and writers.

numpy only (no torch). Boxes are absolute xyxy in continuous pixels inside the model; each format's
convention is applied at the file boundary only.
"""

from odkit.io._model import Category as Category
from odkit.io._model import Dataset as Dataset
from odkit.io._model import ImageAnnotations as ImageAnnotations
from odkit.io._model import ImageRecord as ImageRecord
from odkit.io._model import Issue as Issue
from odkit.io._model import concat_annotations as concat_annotations

__all__ = [
    "Category",
    "Dataset",
    "ImageAnnotations",
    "ImageRecord",
    "Issue",
    "concat_annotations",
]
