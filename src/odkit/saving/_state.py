"""Training state for an exact resume: weights, optimizer, scheduler, EMA, epoch and RNG states, in one file.

The file is an odkit container (see ``_file``) of format ``"odkit-training-state"``. Each ``state_dict`` is
stored as a JSON tree in the header whose tensors are replaced by ``{"__tensor__": "<name>"}`` references to
the safetensors part, named by their path (``model/fc.weight``, ``optimizer/state/0/exp_avg``, ``rng/torch``).
What plain JSON cannot say exactly is tagged, so that loading gives back equal Python values:

    {"__tuple__": [...]}                          a tuple (Adam's betas, Python's random state)
    {"__dict__": [[key, value], ...]}             a dict whose keys are not all str (optimizer state by param id)
    {"__ndarray__": {"dtype", "shape", "data"}}   a small NumPy array of numbers (NumPy's MT19937 key)

Floats are written with ``repr`` precision, so they round-trip exactly; NaN and infinities as Python's json
module writes them. Decoding builds only these plain types; no name from the file is imported or called.
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from odkit.errors import CheckpointError
from odkit.saving._file import STATE_FORMAT, base_header, check_header, load_tensors, read_container, write_file
from odkit.saving._model import load_strict, plain_json, unwrap

_TAGS = ("__tensor__", "__tuple__", "__dict__", "__ndarray__")
_NUMBER_KINDS = "biuf"  # bool, signed / unsigned int, float: the only NumPy dtypes decoded


def save_training_state(
    path: str | os.PathLike[str],
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any = None,
    ema: Any = None,
    epoch: int = 0,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Save everything a run needs to continue exactly where it is; atomic.

    Stored: the model's, optimizer's, scheduler's and EMA's ``state_dict()``; ``epoch``; ``extra``; the RNG
    states of torch's CPU generator, of each CUDA device when CUDA is initialised, of NumPy's global generator
    (``np.random``) and of Python's ``random``.

    Args:
        path: target file (``.odk`` is a good suffix; any is accepted); its folder is created when missing.
        model: the model being trained (DDP / torch.compile wrappers unwrapped).
        optimizer: its optimizer.
        scheduler: an LR scheduler (anything with ``state_dict`` / ``load_state_dict``), or None.
        ema: an EMA of the weights (``AveragedModel`` or anything with ``state_dict`` / ``load_state_dict``), or
            None.
        epoch: the next epoch to run, by the caller's convention; returned as it is.
        extra: the caller's own state (callbacks' best / wait...): plain values, tuples, NumPy arrays of numbers
            and tensors; returned equal by :func:`load_training_state`.

    Raises:
        ValueError: a state holds a value that cannot be stored (the message gives its path).
    """
    model = unwrap(model)
    tensors: dict[str, torch.Tensor] = {}
    header = base_header(STATE_FORMAT)
    name, config = getattr(model, "name", None), getattr(model, "config", None)
    header["model"] = {"class": f"{type(model).__module__}.{type(model).__qualname__}"}
    if isinstance(name, str) and isinstance(config, Mapping):
        with contextlib.suppress(ValueError):  # informational here: the weights are what a resume needs
            header["model"].update({"name": name, "config": plain_json(config, "model.config")})
    header["epoch"] = int(epoch)
    header["state"] = {
        "model": _encode(model.state_dict(), "model", tensors),
        "optimizer": _encode(optimizer.state_dict(), "optimizer", tensors),
        "scheduler": None if scheduler is None else _encode(scheduler.state_dict(), "scheduler", tensors),
        "ema": None if ema is None else _encode(ema.state_dict(), "ema", tensors),
        "extra": _encode(dict(extra or {}), "extra", tensors),
        "rng": _encode(_rng_state(), "rng", tensors),
    }
    write_file(path, tensors, header)


def load_training_state(
    path: str | os.PathLike[str],
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any = None,
    ema: Any = None,
    *,
    restore_rng: bool = True,
) -> dict[str, Any]:
    """Restore :func:`save_training_state`'s file into freshly built objects (in place).

    Build the model, optimizer (over the same parameters, in the same order), scheduler and EMA as the run did,
    then call this: weights, optimizer state (including each group's learning rate), scheduler counters, EMA
    and, with ``restore_rng``, the RNG states come back, so the next steps are the ones the saved run would
    have taken, bit for bit on the same machine and software.

    Args:
        path: a training-state file.
        model, optimizer, scheduler, ema: the objects to fill; ``scheduler`` / ``ema`` may be None (their saved
            state, if any, is then ignored), but one that is given must have been saved.
        restore_rng: also restore torch's (CPU and, when saved and present, CUDA), NumPy's global and Python's
            RNG states.

    Returns:
        ``{"epoch": int, "extra": dict, "odkit_version": str, "created": str}``.

    Raises:
        CheckpointError: the file cannot be read (see ``load_model``), is not a training state, its model
            tensors do not fit ``model`` (listed by name), a scheduler or EMA is given but was not saved, or an
            object rejects its saved state.
    """
    where = os.fspath(path)
    header, data = read_container(path)
    header = check_header(header, where, STATE_FORMAT)
    tensors = load_tensors(data, where)
    state = header.get("state")
    if not isinstance(state, dict) or not all(k in state for k in ("model", "optimizer", "rng")):
        raise CheckpointError(f"{where}: damaged odkit header: expected a \"state\" object with model, optimizer "
                              "and rng entries")
    decoded = {key: _decode(value, tensors, where) for key, value in state.items()}
    load_strict(unwrap(model), decoded["model"], where, f"the given {type(unwrap(model)).__name__}")
    _load_into(optimizer, decoded["optimizer"], "optimizer", where)
    for key, obj in (("scheduler", scheduler), ("ema", ema)):
        if obj is None:
            continue
        if decoded.get(key) is None:
            raise CheckpointError(f"{where}: {key}= was given but the file holds no {key} state (it was saved "
                                  f"with {key}=None)")
        _load_into(obj, decoded[key], key, where)
    if restore_rng:
        _set_rng_state(decoded["rng"], where)
    return {"epoch": header.get("epoch", 0), "extra": decoded.get("extra") or {},
            "odkit_version": header.get("odkit_version"), "created": header.get("created")}


def _load_into(obj: Any, state: Any, key: str, where: str) -> None:
    try:
        obj.load_state_dict(state)
    except Exception as exc:
        raise CheckpointError(f"{where}: the saved {key} state does not fit the given {type(obj).__name__} "
                              f"(built differently from the saved run?): {type(exc).__name__}: {exc}") from exc


# ---- RNG states -----------------------------------------------------------------------------------------------


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(legacy=False),
        "python": random.getstate(),
        "cuda": [],
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = list(torch.cuda.get_rng_state_all())
    return state


def _set_rng_state(state: Any, where: str) -> None:
    try:
        torch.set_rng_state(state["torch"])
        np.random.set_state(state["numpy"])
        random.setstate(state["python"])
        cuda = state.get("cuda") or []
        if cuda and torch.cuda.is_available():
            for index, rng in enumerate(cuda[: torch.cuda.device_count()]):
                torch.cuda.set_rng_state(rng, index)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{where}: damaged RNG state: {type(exc).__name__}: {exc}") from exc


# ---- the tagged JSON tree -------------------------------------------------------------------------------------


def _encode(value: Any, path: str, tensors: dict[str, torch.Tensor]) -> Any:
    """``value`` as JSON, its tensors moved into ``tensors`` under their ``path`` (see the module docstring)."""
    if isinstance(value, torch.Tensor):
        name = path
        n = 1
        while name in tensors:
            n += 1
            name = f"{path}#{n}"
        tensors[name] = value
        return {"__tensor__": name}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in _NUMBER_KINDS:
            raise ValueError(f"cannot save {path}: a NumPy array of dtype {value.dtype} (numbers only)")
        return {"__ndarray__": {"dtype": value.dtype.str, "shape": list(value.shape), "data": value.ravel().tolist()}}
    if isinstance(value, np.generic) and value.dtype.kind in _NUMBER_KINDS:
        return value.item()
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, f"{path}/{i}", tensors) for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, f"{path}/{i}", tensors) for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        plain = all(isinstance(k, str) for k in value) and not (len(value) == 1 and next(iter(value)) in _TAGS)
        if plain:
            return {k: _encode(v, f"{path}/{k}", tensors) for k, v in value.items()}
        return {"__dict__": [[_encode(k, f"{path}/key", {}), _encode(v, f"{path}/{k}", tensors)]
                             for k, v in value.items()]}
    raise ValueError(f"cannot save {path}: a {type(value).__module__}.{type(value).__qualname__} ({value!r}); "
                     "training state holds tensors, NumPy arrays of numbers and plain values (None, bool, int, "
                     "float, str, list, tuple, dict)")


def _decode(value: Any, tensors: Mapping[str, torch.Tensor], where: str) -> Any:
    """The inverse of :func:`_encode`; builds only plain values, tensors and NumPy arrays of numbers."""
    if isinstance(value, list):
        return [_decode(v, tensors, where) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((tag, inner),) = value.items()
        if tag == "__tensor__":
            if not isinstance(inner, str) or inner not in tensors:
                raise CheckpointError(f"{where}: damaged training state: it refers to tensor {inner!r}, which the "
                                      "file does not hold")
            return tensors[inner]
        if tag == "__tuple__" and isinstance(inner, list):
            return tuple(_decode(v, tensors, where) for v in inner)
        if tag == "__dict__" and isinstance(inner, list):
            if not all(isinstance(kv, list) and len(kv) == 2 for kv in inner):
                raise CheckpointError(f"{where}: damaged training state: a __dict__ entry is not a [key, value] list")
            return {_hashable(_decode(k, tensors, where), where): _decode(v, tensors, where) for k, v in inner}
        if tag == "__ndarray__" and isinstance(inner, dict):
            return _decode_array(inner, where)
    return {k: _decode(v, tensors, where) for k, v in value.items()}


def _hashable(key: Any, where: str) -> Any:
    try:
        hash(key)
    except TypeError:
        raise CheckpointError(f"{where}: damaged training state: the dict key {key!r} is not hashable") from None
    return key


def _decode_array(spec: dict[str, Any], where: str) -> np.ndarray:
    try:
        dtype = np.dtype(str(spec["dtype"]))
        if dtype.kind not in _NUMBER_KINDS:
            raise ValueError(f"dtype {dtype} is not a number dtype")
        return np.asarray(spec["data"], dtype=dtype).reshape([int(s) for s in spec["shape"]])
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise CheckpointError(f"{where}: damaged training state: a NumPy array entry is invalid ({exc})") from None
