"""Model files: whole models (``.odk``), weights (``.safetensors``) and training state, never pickled.

Every odkit file is one safetensors file whose string metadata holds a JSON header under the key ``"odkit"``;
its tensors are the model's state_dict (and, in a training state, the optimizer / scheduler / EMA / RNG
tensors under prefixed names). Writes are atomic (temporary file in the same folder, fsync, ``os.replace``).
Loading parses JSON and safetensors only: a model is rebuilt from its registry name + config, through
``odkit.models`` or ``custom_objects``; a foreign, truncated or damaged file is a ``CheckpointError`` naming the
file and what was expected.
"""

from __future__ import annotations

from odkit.saving._file import MODEL_FORMAT as MODEL_FORMAT
from odkit.saving._file import SCHEMA_VERSION as SCHEMA_VERSION
from odkit.saving._file import STATE_FORMAT as STATE_FORMAT
from odkit.saving._file import WEIGHTS_FORMAT as WEIGHTS_FORMAT
from odkit.saving._model import load_model as load_model
from odkit.saving._model import load_weights as load_weights
from odkit.saving._model import read_header as read_header
from odkit.saving._model import save_model as save_model
from odkit.saving._model import save_weights as save_weights
from odkit.saving._state import load_training_state as load_training_state
from odkit.saving._state import save_training_state as save_training_state

__all__ = [
    "MODEL_FORMAT",
    "SCHEMA_VERSION",
    "STATE_FORMAT",
    "WEIGHTS_FORMAT",
    "load_model",
    "load_training_state",
    "load_weights",
    "read_header",
    "save_model",
    "save_training_state",
    "save_weights",
]
