"""Annotation files: one in-memory dataset model; COCO, Pascal VOC, YOLO, CSV, LabelMe and CVAT readers/writers.

numpy only (no torch). Boxes are absolute xyxy in continuous pixels inside the model; each format's
convention is applied at the file boundary only.

Typical use::

    ds = read_annotations("datasets/bccd/BCCD")            # format detected: VOC
    ds = split_dataset(ds, {"train": 0.8, "val": 0.2}, seed=0, stratify=True)
    report = write_annotations(ds, "out/bccd_yolo", "yolo", copy_images="copy")
    print(report.summary())                                 # what YOLO could not represent
"""

from odkit.boxes import GroundTruth as GroundTruth
from odkit.io._api import AnnotationFormat as AnnotationFormat
from odkit.io._api import detect_format as detect_format
from odkit.io._api import read_annotations as read_annotations
from odkit.io._api import write_annotations as write_annotations
from odkit.io._check import CheckReport as CheckReport
from odkit.io._check import check_dataset as check_dataset
from odkit.io._check import dataset_stats as dataset_stats
from odkit.io._check import fix_dataset as fix_dataset
from odkit.io._coco import coco_dict as coco_dict
from odkit.io._coco import read_coco as read_coco
from odkit.io._coco import write_coco as write_coco
from odkit.io._common import WriteReport as WriteReport
from odkit.io._csv import read_csv as read_csv
from odkit.io._csv import write_csv as write_csv
from odkit.io._cvat import read_cvat as read_cvat
from odkit.io._cvat import write_cvat as write_cvat
from odkit.io._images import ImageInfo as ImageInfo
from odkit.io._images import inspect_image as inspect_image
from odkit.io._labelme import read_labelme as read_labelme
from odkit.io._labelme import write_labelme as write_labelme
from odkit.io._model import Category as Category
from odkit.io._model import Dataset as Dataset
from odkit.io._model import ImageRecord as ImageRecord
from odkit.io._model import Issue as Issue
from odkit.io._ops import merge_datasets as merge_datasets
from odkit.io._ops import remap_categories as remap_categories
from odkit.io._ops import split_dataset as split_dataset
from odkit.io._predictions import detect_prediction_format as detect_prediction_format
from odkit.io._predictions import read_coco_results as read_coco_results
from odkit.io._predictions import read_predictions as read_predictions
from odkit.io._predictions import write_coco_results as write_coco_results
from odkit.io._voc import read_voc as read_voc
from odkit.io._voc import write_voc as write_voc
from odkit.io._yolo import label_path as label_path
from odkit.io._yolo import read_yolo as read_yolo
from odkit.io._yolo import write_yolo as write_yolo

__all__ = [
    "AnnotationFormat",
    "Category",
    "CheckReport",
    "Dataset",
    "GroundTruth",
    "ImageInfo",
    "ImageRecord",
    "Issue",
    "WriteReport",
    "check_dataset",
    "coco_dict",
    "dataset_stats",
    "detect_format",
    "detect_prediction_format",
    "fix_dataset",
    "inspect_image",
    "label_path",
    "merge_datasets",
    "read_annotations",
    "read_coco",
    "read_coco_results",
    "read_csv",
    "read_cvat",
    "read_labelme",
    "read_predictions",
    "read_voc",
    "read_yolo",
    "remap_categories",
    "split_dataset",
    "write_annotations",
    "write_coco",
    "write_coco_results",
    "write_csv",
    "write_cvat",
    "write_labelme",
    "write_voc",
    "write_yolo",
]
