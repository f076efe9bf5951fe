"""The container of every odkit file: one safetensors file whose metadata holds odkit's JSON header.

Layout (the safetensors format, https://github.com/huggingface/safetensors)::

    8 bytes   N, little-endian u64
    N bytes   JSON: {"__metadata__": {"odkit": "<odkit header, JSON text>"}, "<tensor>": {dtype, shape, data_offsets}}
    ...       the tensors' raw bytes, back to back

Reading parses that JSON and hands the bytes to ``safetensors``: nothing is unpickled, imported or evaluated.
Before safetensors sees a file, it is checked here so that a foreign, truncated or damaged file is an error that
names the file and says what it is. Writing goes to a temporary file in the target's folder, is fsynced, then
``os.replace``d over the target, so a crash or a kill never leaves half a file under the target's name.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import secrets
import zipfile
from importlib import metadata as _metadata
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as _safetensors_load
from safetensors.torch import save as _safetensors_save

from odkit.errors import CheckpointError

HEADER_KEY = "odkit"
SCHEMA_VERSION = 1
MODEL_FORMAT = "odkit-model"
WEIGHTS_FORMAT = "odkit-weights"
STATE_FORMAT = "odkit-training-state"

_WHAT = {
    MODEL_FORMAT: "an odkit model file (load it with odkit.load_model)",
    WEIGHTS_FORMAT: "an odkit weights file (build the model, then model.load_weights(path))",
    STATE_FORMAT: "an odkit training state (load it with odkit.saving.load_training_state)",
}
_HEADER_LIMIT = 100 * 1024 * 1024  # safetensors' own limit on its JSON header


def odkit_version() -> str:
    """The installed odkit version, or ``"0+unknown"`` when run from a source tree that is not installed."""
    try:
        return _metadata.version("odkit")
    except _metadata.PackageNotFoundError:
        return "0+unknown"


def now_iso() -> str:
    """The current UTC time, ISO 8601 to the second (``2026-11-28T23:01:51+00:00``)."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def base_header(fmt: str) -> dict[str, Any]:
    """The keys every odkit header starts with."""
    return {"format": fmt, "schema_version": SCHEMA_VERSION, "odkit_version": odkit_version(), "created": now_iso()}


# ---- writing --------------------------------------------------------------------------------------------------


def write_file(path: str | os.PathLike[str], tensors: dict[str, torch.Tensor], header: dict[str, Any]) -> None:
    """Write ``tensors`` and ``header`` as one safetensors file at ``path``, atomically.

    Args:
        path: target file; its folder is created when missing.
        tensors: name -> tensor (any device; copied to the CPU, made contiguous; tensors sharing storage, such
            as tied weights, are stored once each).
        header: JSON-able dict stored under the ``"odkit"`` metadata key. Floats keep their exact value
            (``NaN`` / ``Infinity`` are written as Python's json module writes them).
    """
    metadata = {HEADER_KEY: json.dumps(header, allow_nan=True, ensure_ascii=False)}
    data = _safetensors_save(_plain_tensors(tensors), metadata=metadata)
    atomic_write_bytes(path, data)


def _plain_tensors(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """CPU, contiguous, detached tensors, each owning its storage (safetensors refuses shared storage)."""
    out: dict[str, torch.Tensor] = {}
    seen: set[int] = set()
    for name, tensor in tensors.items():
        t = tensor.detach().cpu().contiguous()
        storage = t.untyped_storage()
        if t.numel() and (storage.data_ptr() in seen or storage.nbytes() != t.nbytes):
            t = t.clone()
        if t.numel():
            seen.add(t.untyped_storage().data_ptr())
        out[name] = t
    return out


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, fsync, then ``os.replace``.

    On any failure the temporary file is removed and an existing ``path`` is left as it was. A kill between
    the write and the replace leaves the old file intact and a ``.<name>.<random>.tmp`` file beside it.

    Raises:
        IsADirectoryError: if ``path`` is an existing folder.
        OSError: as the file system reports it.
    """
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(f"please give a file path, not a folder: {os.fspath(path)} is an existing folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(target.parent)


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ---- reading --------------------------------------------------------------------------------------------------


def read_container(path: str | os.PathLike[str]) -> tuple[dict[str, Any] | None, bytes]:
    """Read and check a safetensors file; return its odkit header (None if it has none) and its bytes.

    Raises:
        CheckpointError: the path is missing or a folder; the file is another kind of file (a pickle, a
            ``torch.save`` zip, a Keras archive, HDF5...), truncated, or not valid safetensors; its odkit
            header is not a JSON object.
    """
    where = os.fspath(path)
    p = Path(path)
    if not p.exists():
        raise CheckpointError(f"{where}: no such file")
    if not p.is_file():
        raise CheckpointError(f"{where}: is a folder, not a file; expected a safetensors file written by odkit")
    data = p.read_bytes()
    size = len(data)
    n = int.from_bytes(data[:8], "little") if size >= 8 else 0
    # safetensors: an 8-byte length, then JSON starting with "{". Checked before the magic numbers of other
    # formats, since a length can begin with the same bytes as one (0x80 0x02: a pickle).
    if size < 9 or data[8:9] != b"{" or n > _HEADER_LIMIT:
        foreign = _describe_foreign(data)
        if foreign is not None:
            raise CheckpointError(f"{where}: {foreign}")
        if size < 9:
            raise CheckpointError(f"{where}: {size} bytes is too short for a safetensors file (empty or truncated)")
        raise CheckpointError(f"{where}: not a safetensors file (no JSON header after the 8-byte length); "
                              "expected a file written by odkit (.odk / .safetensors)")
    if n > size - 8:
        raise CheckpointError(f"{where}: truncated: its safetensors header declares {n} bytes but only "
                              f"{size - 8} follow (an interrupted copy or download?)")
    try:
        table = json.loads(data[8 : 8 + n])
    except (ValueError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{where}: damaged safetensors file: its header is not valid JSON ({exc})") from None
    if not isinstance(table, dict):
        raise CheckpointError(f"{where}: damaged safetensors file: its header is not a JSON object")
    needed = _data_length(table, where)
    have = size - 8 - n
    if have < needed:
        raise CheckpointError(f"{where}: truncated: its tensors need {needed} bytes of data but only {have} are "
                              "there (an interrupted copy or download?)")
    if have > needed:
        raise CheckpointError(f"{where}: damaged safetensors file: {have - needed} bytes after the last tensor")
    return _odkit_header(table, where), data


def _data_length(table: dict[str, Any], where: str) -> int:
    """The data size the tensor table claims (its largest end offset), after a shape check of each entry."""
    end = 0
    for name, entry in table.items():
        if name == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(isinstance(o, int) and not isinstance(o, bool) and o >= 0 for o in offsets)):
            raise CheckpointError(f"{where}: damaged safetensors file: tensor {name!r} has no valid data_offsets")
        end = max(end, offsets[1])
    return end


def _odkit_header(table: dict[str, Any], where: str) -> dict[str, Any] | None:
    meta = table.get("__metadata__")
    if not isinstance(meta, dict) or HEADER_KEY not in meta:
        return None
    raw = meta[HEADER_KEY]
    try:
        header = json.loads(raw) if isinstance(raw, str) else None
    except ValueError as exc:
        raise CheckpointError(f"{where}: damaged odkit header: not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{where}: damaged odkit header: expected a JSON object, found {type(header).__name__}")
    return header


def check_header(header: dict[str, Any] | None, where: str, expected: str) -> dict[str, Any]:
    """``header`` if it is an odkit header of format ``expected`` and a schema this odkit reads.

    Raises:
        CheckpointError: no odkit header, another format, an invalid or newer ``schema_version``.
    """
    if header is None:
        hint = (" (a plain safetensors file of weights? build the model, then model.load_weights(path))"
                if expected == MODEL_FORMAT else "")
        raise CheckpointError(f"{where}: a safetensors file without an odkit header; expected {_WHAT[expected]}"
                              f"{hint}")
    fmt = header.get("format")
    if fmt != expected:
        found = _WHAT.get(fmt, f"format {fmt!r}") if isinstance(fmt, str) else f"format {fmt!r}"
        raise CheckpointError(f"{where}: is {found}; expected format {expected!r}, {_WHAT[expected]}")
    check_schema(header, where)
    return header


def check_schema(header: dict[str, Any], where: str) -> None:
    """Raise CheckpointError unless ``header["schema_version"]`` is an int in [1, SCHEMA_VERSION]."""
    version = header.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CheckpointError(f"{where}: damaged odkit header: schema_version must be a positive integer; "
                              f"found {version!r}")
    if version > SCHEMA_VERSION:
        raise CheckpointError(f"{where}: written with schema_version {version} by odkit "
                              f"{header.get('odkit_version', '?')}; this odkit ({odkit_version()}) reads "
                              f"schema_version {SCHEMA_VERSION} and older: upgrade odkit to load it")


def load_tensors(data: bytes, where: str) -> dict[str, torch.Tensor]:
    """The tensors of a checked container (on the CPU).

    Raises:
        CheckpointError: safetensors rejects the data (an unknown dtype, overlapping offsets...).
    """
    try:
        return _safetensors_load(data)
    except Exception as exc:  # safetensors raises its own SafetensorError and ValueErrors
        raise CheckpointError(f"{where}: damaged safetensors file: {exc}") from None


def _describe_foreign(data: bytes) -> str | None:
    """What the file is, when its first bytes say it is not safetensors; None otherwise."""
    head = data[:8]
    never = ("odkit never unpickles (unpickling can run any code). If you trust the file, load its state_dict "
             "yourself with torch.load(path, weights_only=True), then model.load_state_dict(...) and "
             "model.save('model.odk') or model.save_weights('model.safetensors')")
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        names = _zip_names(data)
        if any(n.endswith("data.pkl") for n in names):
            return f"a PyTorch checkpoint written by torch.save (a zip holding a pickle), not an odkit file; {never}"
        if "config.json" in names and "model.weights.h5" in names:
            return "a Keras .keras archive, not an odkit file; odkit reads safetensors files written by odkit"
        return "a zip archive, not an odkit file (odkit files are safetensors files written by odkit)"
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return f"a Python pickle (for example torch.save's legacy format), not an odkit file; {never}"
    if head == b"\x89HDF\r\n\x1a\n":
        return "an HDF5 file (a Keras .h5 model or weights file?), not an odkit file"
    if head[:6] == b"\x93NUMPY":
        return "a NumPy .npy file, not an odkit file"
    return None


def _zip_names(data: bytes) -> list[str]:
    """The member names of a zip archive (its central directory only; nothing is extracted)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return []
