"""Keras-style training callbacks (no torch: they use the model only through the contract in ``_callback``).

Keras 3's semantics and messages, with odkit's file formats (``.odk`` models, ``.safetensors`` weights) and a
few documented fixes (EarlyStopping's baseline, warnings given once and naming the available keys).
"""

from odkit.callbacks._backup import BackupAndRestore as BackupAndRestore
from odkit.callbacks._callback import Callback as Callback
from odkit.callbacks._callback import CallbackList as CallbackList
from odkit.callbacks._callback import History as History
from odkit.callbacks._checkpoint import ModelCheckpoint as ModelCheckpoint
from odkit.callbacks._csv_logger import CSVLogger as CSVLogger
from odkit.callbacks._early_stopping import EarlyStopping as EarlyStopping
from odkit.callbacks._lr import LearningRateScheduler as LearningRateScheduler
from odkit.callbacks._lr import ReduceLROnPlateau as ReduceLROnPlateau
from odkit.callbacks._stop import TerminateOnNaN as TerminateOnNaN
from odkit.callbacks._stop import TimeLimit as TimeLimit

__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ReduceLROnPlateau",
    "TerminateOnNaN",
    "TimeLimit",
]
