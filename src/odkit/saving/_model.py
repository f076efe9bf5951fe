"""Whole models (``.odk``) and weights alone (``.safetensors``): save, load, and the tensor-matching rules.

A model file rebuilds its model from the registry name + JSON config in its header (or ``custom_objects``), then
loads the tensors strictly. Nothing from the file is imported or evaluated: a name is only ever a key looked up
in ``custom_objects`` or ``odkit.models``' registry.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import os
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from odkit.errors import CheckpointError
from odkit.saving._file import (
    MODEL_FORMAT,
    WEIGHTS_FORMAT,
    base_header,
    check_header,
    check_schema,
    load_tensors,
    read_container,
    write_file,
)

_SHOWN = 10  # names listed per kind of mismatch before "... and N more"


def unwrap(model: nn.Module) -> nn.Module:
    """The module whose state_dict names are the model's own: DDP / DataParallel and torch.compile unwrapped."""
    while True:
        if isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
            model = model.module
        elif type(model).__name__ == "OptimizedModule" and isinstance(getattr(model, "_orig_mod", None), nn.Module):
            model = model._orig_mod
        else:
            return model


def check_suffix(path: str | os.PathLike[str], suffixes: tuple[str, ...], what: str) -> str:
    """``os.fspath(path)``, or Keras' ValueError when it does not end in one of ``suffixes``."""
    where = os.fspath(path)
    if not where.endswith(suffixes):
        wanted = " or ".join(f"`{s}`" for s in suffixes)
        raise ValueError(f"The filepath provided must end in {wanted} ({what}). Received: filepath={where}")
    return where


def plain_json(value: Any, where: str) -> Any:
    """``value`` as plain JSON types (tuples -> lists, NumPy scalars -> Python numbers), or a ValueError naming
    the first value that is not JSON-able."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, np.generic) and isinstance(value.item(), (bool, int, float)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [plain_json(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        out = {}
        for key, v in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where} has the key {key!r} ({type(key).__name__}); JSON keys must be str")
            out[key] = plain_json(v, f"{where}[{key!r}]")
        return out
    raise ValueError(f"{where} = {value!r} ({type(value).__name__}) is not JSON-able; odkit saves model "
                     "configs, classes, input info and training info as plain JSON (None, bool, int, float, str, "
                     "list, dict with str keys)")


# ---- whole models ---------------------------------------------------------------------------------------------


def model_header(model: nn.Module, training: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``.odk`` header of ``model`` (see :func:`save_model`); ValueError when the model lacks the contract."""
    name = getattr(model, "name", None)
    config = getattr(model, "config", None)
    if not isinstance(name, str) or not name or not isinstance(config, Mapping):
        raise ValueError(
            f"{type(model).__name__} cannot be saved as a whole model: it needs a registry name (a str attribute "
            f"`name`, found {name!r}) and a JSON-able `config` dict (found {type(config).__name__}) so that "
            "odkit.load_model can rebuild it. Wrap it with odkit.Model(module), register its class with "
            "@odkit.models.register(name), or save its weights alone with save_weights(model, 'x.safetensors')")
    classes = getattr(model, "class_names", None)
    if classes is not None and (
        isinstance(classes, str) or not all(isinstance(c, str) for c in classes)  # type: ignore[union-attr]
    ):
        raise ValueError(f"model.class_names must be a list of str or None; got {classes!r}")
    header = base_header(MODEL_FORMAT)
    header.update({
        "model": {"name": name, "config": plain_json(config, "model.config")},
        "classes": list(classes) if classes is not None else None,
        "input": plain_json(getattr(model, "input_info", None) or {}, "model.input_info"),
        "training": plain_json(training or {}, "training"),
    })
    return header


def save_model(model: nn.Module, path: str | os.PathLike[str], *, training: Mapping[str, Any] | None = None) -> None:
    """Save the whole model to one ``.odk`` file: JSON header + safetensors tensors; atomic.

    The header holds ``format`` ("odkit-model"), ``schema_version``, ``odkit_version``, ``created`` (UTC, ISO
    8601), ``model`` (``{"name", "config"}``: rebuilt by ``odkit.models.build(name, **config)``), ``classes``
    (``model.class_names``), ``input`` (``model.input_info``: image_hw, color_mode, channels, normalization...)
    and ``training`` (whatever the caller passes: epoch, monitor, mode, best...). The tensors are
    ``model.state_dict()`` under their own names. Tuples in the config come back as lists.

    Args:
        model: a module with ``name``, ``config``, ``class_names`` and ``input_info`` (an ``odkit.Model``);
            DDP / DataParallel / torch.compile wrappers are saved as the module they wrap.
        path: target file, ending in ``.odk``; its folder is created when missing.
        training: JSON-able summary of the training run, stored as it is.

    Raises:
        ValueError: ``path`` does not end in ``.odk``; the model has no ``name`` / ``config``; a config,
            class or training value is not JSON-able (the message names it).
        IsADirectoryError: ``path`` is an existing folder.
    """
    check_suffix(path, (".odk",), "odkit model format")
    model = unwrap(model)
    header = model_header(model, training)
    write_file(path, dict(model.state_dict()), header)


def read_header(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The odkit header of any odkit file (model, weights or training state), after the file's checks.

    Raises:
        CheckpointError: as :func:`load_model` for a file that is not an odkit file.
    """
    where = os.fspath(path)
    header, _ = read_container(path)
    if header is None:
        raise CheckpointError(f"{where}: a safetensors file without an odkit header")
    check_schema(header, where)
    return header


def load_model(
    path: str | os.PathLike[str],
    custom_objects: Mapping[str, Callable[..., Any]] | None = None,
    *,
    device: str | torch.device = "cpu",
) -> nn.Module:
    """Rebuild a model saved by :func:`save_model`, with its weights, class names and input info.

    The model is built by ``custom_objects[name](**config)`` when ``name`` is there, else by
    ``odkit.models.build(name, **config)``; then every tensor must match by name and shape (strict). Only JSON
    and safetensors are parsed: nothing is unpickled, imported or evaluated.

    Args:
        path: an ``.odk`` file.
        custom_objects: registry name -> class or callable taking the saved config as keyword arguments, for
            models that are not registered with ``odkit.models``.
        device: where the returned model lives.

    Returns:
        The model in eval mode (call ``.train()`` to train it further).

    Raises:
        CheckpointError: the file is missing, foreign (a pickle, ``torch.save``, zip, HDF5...), truncated or
            damaged; has no odkit header, another format or a newer schema; names a model that is neither
            registered nor in ``custom_objects``; or its tensors do not fit the rebuilt model (listed by name).
    """
    where = os.fspath(path)
    header, data = read_container(path)
    header = check_header(header, where, MODEL_FORMAT)
    section = header.get("model")
    if not isinstance(section, dict) or not isinstance(section.get("name"), str) \
            or not isinstance(section.get("config"), dict):
        raise CheckpointError(f"{where}: damaged odkit header: expected \"model\": {{\"name\": str, \"config\": "
                              f"object}}; found {section!r}")
    name, config = section["name"], section["config"]
    tensors = load_tensors(data, where)
    model = _rebuild(name, config, custom_objects, where)
    load_strict(model, tensors, where, f"model {name!r} as rebuilt from its saved config")
    for attr, key in (("class_names", "classes"), ("input_info", "input")):
        value = header.get(key)
        if value and getattr(model, attr, None) != value:
            with contextlib.suppress(AttributeError):  # a read-only property: the config already decides it
                setattr(model, attr, value)
    return model.to(device).eval()


def _rebuild(name: str, config: dict[str, Any], custom_objects: Mapping[str, Any] | None, where: str) -> nn.Module:
    how = (f"register its class with @odkit.models.register({name!r}) or pass "
           f"custom_objects={{{name!r}: YourClass}} to load_model")
    if custom_objects and name in custom_objects:
        factory = custom_objects[name]
    else:
        try:
            models = importlib.import_module("odkit.models")
        except ImportError as exc:
            raise CheckpointError(f"{where}: model {name!r} is not in custom_objects and odkit.models could not be "
                                  f"imported ({exc}); {how}") from None
        build = getattr(models, "build", None)
        if not callable(build):
            raise CheckpointError(f"{where}: model {name!r} is not in custom_objects and odkit.models has no "
                                  f"build(); {how}")
        listing = getattr(models, "list_models", None) or getattr(models, "list", None)
        if callable(listing):
            # the names build() knows: the registered ones and the wrapper's ("module": odkit.Model(my_module))
            wrapper = getattr(getattr(models, "Model", None), "name", None)
            known = sorted(listing())
            if name not in known and name != wrapper:
                given = f"; custom_objects has {sorted(custom_objects)}" if custom_objects else ""
                raise CheckpointError(f"{where}: saved model {name!r} is neither registered with odkit.models "
                                      f"(registered: {known}) nor in custom_objects{given}; {how}")
        # build() also rebuilds a wrapped user module, whose own name may be in custom_objects
        passes_custom = custom_objects and "custom_objects" in inspect.signature(build).parameters
        extra = {"custom_objects": dict(custom_objects)} if passes_custom else {}  # type: ignore[arg-type]

        def factory(**kwargs: Any) -> Any:
            return build(name, **extra, **kwargs)

    try:
        model = factory(**config)
    except Exception as exc:
        raise CheckpointError(f"{where}: rebuilding model {name!r} from its saved config {config!r} failed: "
                              f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(model, nn.Module):
        raise CheckpointError(f"{where}: rebuilding model {name!r} gave a {type(model).__name__}, not a "
                              "torch.nn.Module")
    return model


# ---- matching tensors -----------------------------------------------------------------------------------------


def compare_state(
    model_state: Mapping[str, torch.Tensor], file_tensors: Mapping[str, torch.Tensor]
) -> tuple[list[str], list[str], list[str]]:
    """(missing from the file, not in the model, "name: model (shape), file (shape)" for shape mismatches)."""
    missing = [k for k in model_state if k not in file_tensors]
    unexpected = sorted(k for k in file_tensors if k not in model_state)  # a file lists its tensors by name
    mismatched = [
        f"{k}: model {tuple(model_state[k].shape)}, file {tuple(file_tensors[k].shape)}"
        for k in model_state
        if k in file_tensors and tuple(model_state[k].shape) != tuple(file_tensors[k].shape)
    ]
    return missing, unexpected, mismatched


def describe_mismatch(missing: list[str], unexpected: list[str], mismatched: list[str]) -> str:
    """One line per kind of mismatch, each listing up to 10 names."""

    def shown(names: list[str]) -> str:
        more = f" ... and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
        return ", ".join(names[:_SHOWN]) + more

    parts = []
    if mismatched:
        parts.append(f"shape mismatch ({len(mismatched)}): {shown(mismatched)}")
    if missing:
        parts.append(f"in the model but missing from the file ({len(missing)}): {shown(missing)}")
    if unexpected:
        parts.append(f"in the file but not in the model ({len(unexpected)}): {shown(unexpected)}")
    return "; ".join(parts)


def load_strict(model: nn.Module, tensors: Mapping[str, torch.Tensor], where: str, what: str) -> None:
    """``model.load_state_dict(tensors)``, or a CheckpointError listing every tensor that does not fit."""
    state = model.state_dict()
    missing, unexpected, mismatched = compare_state(state, tensors)
    if missing or unexpected or mismatched:
        raise CheckpointError(f"{where}: the file's tensors do not fit {what} (another architecture, or a "
                              f"changed model definition?): {describe_mismatch(missing, unexpected, mismatched)}")
    model.load_state_dict(dict(tensors), strict=True)


# ---- weights alone --------------------------------------------------------------------------------------------


def save_weights(model: nn.Module, path: str | os.PathLike[str]) -> None:
    """Save ``model.state_dict()`` as a plain ``.safetensors`` file (any safetensors reader opens it); atomic.

    A small odkit header (``format`` "odkit-weights", versions, date, the model's name and class names when it
    has them) is stored for information; loading does not need it.

    Raises:
        ValueError: ``path`` does not end in ``.safetensors`` (Keras' message, with ``Received: filepath=``).
        IsADirectoryError: ``path`` is an existing folder.
    """
    check_suffix(path, (".safetensors",), "safetensors weights")
    model = unwrap(model)
    header = base_header(WEIGHTS_FORMAT)
    name = getattr(model, "name", None)
    classes = getattr(model, "class_names", None)
    header["model"] = {"name": name if isinstance(name, str) else None,
                       "class": f"{type(model).__module__}.{type(model).__qualname__}"}
    if isinstance(classes, (list, tuple)) and all(isinstance(c, str) for c in classes):
        header["classes"] = list(classes)
    write_file(path, dict(model.state_dict()), header)


def load_weights(model: nn.Module, path: str | os.PathLike[str], skip_mismatch: bool = False) -> None:
    """Load weights into ``model`` (in place) from a ``.safetensors`` file (odkit's or any other) or an ``.odk``.

    Args:
        model: the module to fill; tensors are copied onto its parameters' devices and dtypes.
        path: a ``.safetensors`` or ``.odk`` file.
        skip_mismatch: load the tensors that fit and warn about the others (shape mismatches, tensors missing
            from the file, which keep the model's values, and tensors the model does not have), instead of
            raising.

    Raises:
        ValueError: ``path`` does not end in ``.safetensors`` or ``.odk``.
        CheckpointError: the file cannot be read (see :func:`load_model`), is a training state, or, without
            ``skip_mismatch``, some tensors do not fit: "A total of N objects could not be loaded", listed.
    """
    where = check_suffix(path, (".safetensors", ".odk"), "safetensors weights or an odkit model")
    header, data = read_container(path)
    if header is not None:
        fmt = header.get("format")
        check_header(header, where, fmt if fmt in (MODEL_FORMAT, WEIGHTS_FORMAT) else WEIGHTS_FORMAT)
    tensors = load_tensors(data, where)
    model = unwrap(model)
    state = model.state_dict()
    missing, unexpected, mismatched = compare_state(state, tensors)
    total = len(missing) + len(unexpected) + len(mismatched)
    if not total:
        model.load_state_dict(tensors, strict=True)
        return
    listing = describe_mismatch(missing, unexpected, mismatched)
    if not skip_mismatch:
        raise CheckpointError(f"{where}: A total of {total} objects could not be loaded into "
                              f"{type(model).__name__}: {listing}. Pass skip_mismatch=True to load the others "
                              "and keep the model's own values for these")
    warnings.warn(f"{where}: skipped {total} objects that could not be loaded into {type(model).__name__} "
                  f"(skip_mismatch=True): {listing}", UserWarning, stacklevel=2)
    fitting = {k: v for k, v in tensors.items() if k in state and tuple(state[k].shape) == tuple(v.shape)}
    model.load_state_dict(fitting, strict=False)
