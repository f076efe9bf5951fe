"""Datasets from folders and annotation files, box-aware augmentation and a parallel input pipeline.

numpy + Pillow by default; torch is imported only when tensors are requested (``output="torch"``).
The ``data`` extra adds OpenCV and simplejpeg (faster decoding; JPEG bit-exact with TensorFlow) and
albumentations (flip, scale, crop, colour jitter, mosaic).

Classification folders, as Keras::

    train, val = image_dataset_from_directory("digits/", label_mode="categorical", color_mode="grayscale",
                                              image_size=(28, 28), validation_split=0.2, subset="both", seed=1)
    for images, labels in train: ...            # (32, 28, 28, 1) float32, (32, 10) float32; reshuffled per epoch
    torch.utils.data.DataLoader(train, batch_size=None)   # or output="torch"; on_error="skip" holds there too
    model.fit(train.as_keras(), validation_data=val.as_keras(), epochs=10)   # Keras 3 (a PyDataset)

Detection, from anything ``odkit.io`` reads::

    ds = detection_dataset("datasets/bccd/BCCD", split="train", batch_size=16,
                           transforms=Compose([RandomScale((0.5, 1.5)), HorizontalFlip(), RandomCrop((512, 512)),
                                               ColorJitter(), Letterbox((416, 416))], seed=0))
    for images, targets in ds: ...              # (16, 416, 416, 3) uint8, [{"boxes", "labels", ...}] * 16
"""

from odkit.data._augment import ColorJitter as ColorJitter
from odkit.data._augment import Compose as Compose
from odkit.data._augment import HorizontalFlip as HorizontalFlip
from odkit.data._augment import Letterbox as Letterbox
from odkit.data._augment import Mosaic as Mosaic
from odkit.data._augment import RandomCrop as RandomCrop
from odkit.data._augment import RandomScale as RandomScale
from odkit.data._augment import Resize as Resize
from odkit.data._decode import ImageDecodeError as ImageDecodeError
from odkit.data._decode import load_image as load_image
from odkit.data._detection import DetectionDataset as DetectionDataset
from odkit.data._detection import detection_collate as detection_collate
from odkit.data._detection import detection_dataset as detection_dataset
from odkit.data._folder import ImageFolderDataset as ImageFolderDataset
from odkit.data._from_directory import image_dataset_from_directory as image_dataset_from_directory
from odkit.data._index import ALLOWLIST_FORMATS as ALLOWLIST_FORMATS
from odkit.data._index import index_directory as index_directory
from odkit.data._keras_image import img_to_array as img_to_array
from odkit.data._keras_image import load_img as load_img
from odkit.data._letterbox import LetterboxInfo as LetterboxInfo
from odkit.data._letterbox import letterbox as letterbox
from odkit.data._letterbox import letterbox_info as letterbox_info
from odkit.data._letterbox import unletterbox_boxes as unletterbox_boxes
from odkit.data._resize import INTERPOLATIONS as INTERPOLATIONS
from odkit.data._resize import resize_image as resize_image

__all__ = [
    "ALLOWLIST_FORMATS",
    "INTERPOLATIONS",
    "ColorJitter",
    "Compose",
    "DetectionDataset",
    "HorizontalFlip",
    "ImageDecodeError",
    "ImageFolderDataset",
    "Letterbox",
    "LetterboxInfo",
    "Mosaic",
    "RandomCrop",
    "RandomScale",
    "Resize",
    "detection_collate",
    "detection_dataset",
    "image_dataset_from_directory",
    "img_to_array",
    "index_directory",
    "letterbox",
    "letterbox_info",
    "load_image",
    "load_img",
    "resize_image",
    "unletterbox_boxes",
]
