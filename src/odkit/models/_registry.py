"""The model registry: names -> factories, so a model is rebuilt from its name + a JSON-able config."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

_REGISTRY: dict[str, Callable[..., Any]] = {}
T = TypeVar("T")


def register(name: str) -> Callable[[T], T]:
    """Register a model factory (a class or a function taking keyword arguments) under ``name``.

    On a class, the keyword arguments its constructor gets are recorded (``_odkit_config``) so that
    ``odkit.Model(module)`` can save it and ``odkit.load_model`` rebuild it; they must be JSON-able.

    Example:
        >>> @register("my-net")
        ... class MyNet(torch.nn.Module):
        ...     def __init__(self, width: int = 16) -> None: ...  # doctest: +SKIP
    """

    def decorate(factory: T) -> T:
        if name in _REGISTRY and _REGISTRY[name] is not factory:
            raise ValueError(f"a model is already registered as {name!r} ({_REGISTRY[name]!r})")
        if isinstance(factory, type):
            original = factory.__init__

            @functools.wraps(original)
            def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
                if args:
                    raise TypeError(f"{name}: pass constructor arguments by keyword (they are saved as its config)")
                original(self, **kwargs)
                if not hasattr(self, "_odkit_config"):
                    object.__setattr__(self, "_odkit_config", dict(kwargs))
                object.__setattr__(self, "_odkit_name", name)

            factory.__init__ = __init__  # type: ignore[misc]
        _REGISTRY[name] = factory  # type: ignore[assignment]
        return factory

    return decorate


def list_models() -> list[str]:
    """The registered names, sorted."""
    _load_builtins()
    return sorted(_REGISTRY)


def resolve(name: str, custom_objects: Mapping[str, Any] | None = None) -> Callable[..., Any]:
    """The factory for ``name``: ``custom_objects`` first, then the registry.

    Raises:
        KeyError: naming the model and the registered names.
    """
    _load_builtins()
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if name not in _REGISTRY:
        raise KeyError(f"no model named {name!r}: registered are {sorted(_REGISTRY)}; register a class with "
                       "@odkit.models.register(name) or pass custom_objects={name: cls} to load_model")
    return _REGISTRY[name]


def check_config(name: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` as a plain JSON-able dict (a copy), or a ValueError naming the key that is not."""
    out = {}
    for key, value in config.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name}: config[{key!r}] = {value!r} is not JSON-able; model configs are saved as "
                             "JSON") from None
        out[str(key)] = value
    return out


def _load_builtins() -> None:
    """Import the built-in model modules (they register themselves)."""
    from odkit.models import _classifier, _detector, _localizer  # noqa: F401
