"""Datasets from folders and annotation files, box-aware augmentation and a parallel input pipeline.

numpy + Pillow by default; torch is imported only when tensors are requested (``output="torch"``).
"""

from odkit.data._decode import ImageDecodeError as ImageDecodeError
from odkit.data._decode import load_image as load_image
from odkit.data._folder import ImageFolderDataset as ImageFolderDataset
from odkit.data._from_directory import image_dataset_from_directory as image_dataset_from_directory
from odkit.data._index import ALLOWLIST_FORMATS as ALLOWLIST_FORMATS
from odkit.data._index import index_directory as index_directory
from odkit.data._resize import INTERPOLATIONS as INTERPOLATIONS
from odkit.data._resize import resize_image as resize_image

__all__ = [
    "ALLOWLIST_FORMATS",
    "INTERPOLATIONS",
    "ImageDecodeError",
    "ImageFolderDataset",
    "image_dataset_from_directory",
    "index_directory",
    "load_image",
    "resize_image",
]
