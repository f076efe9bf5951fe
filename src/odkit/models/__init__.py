"""Models (torch): ``build(name, ...)`` from the registry, ``Model`` (Keras-style compile / fit / evaluate /
predict / save) for built-in and user-written networks.

Example::

    model = odkit.models.build("classifier", num_classes=10)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(train_x, train_y, validation_data=(val_x, val_y), epochs=20, callbacks=[es, mcp])
    model.save("digits.odk"); again = odkit.load_model("digits.odk")
"""

from __future__ import annotations

from typing import Any

from odkit.models._base import Model as Model
from odkit.models._base import resolve_device as resolve_device
from odkit.models._registry import list_models as list_models
from odkit.models._registry import register as register
from odkit.models._registry import resolve as resolve

__all__ = ["Model", "build", "list", "list_models", "register", "resolve", "resolve_device"]


def build(name: str, *, custom_objects: dict[str, Any] | None = None, seed: int | None = None, **config: Any
          ) -> Any:
    """A model from its registered name and keyword config (``num_classes=``, ``class_names=``...).

    Args:
        name: a registered name (``list()``), or one of ``custom_objects``.
        custom_objects: name -> class or factory, for user-written models not registered in this process.
        seed: seed the weights' initialisation (``torch.manual_seed``), for the same model run to run.
        **config: the model's constructor arguments.

    Raises:
        KeyError: an unknown name (the message lists the registered names).
    """
    import torch

    if name == "module":  # a wrapped user module: rebuild the module from its own registered name + config
        inner = resolve(config["module"], custom_objects)(**config.get("module_config", {}))
        if seed is not None:
            torch.manual_seed(seed)
        return Model(inner, class_names=config.get("class_names"), outputs=config.get("outputs", "logits"))
    factory = resolve(name, custom_objects)
    if seed is not None:
        torch.manual_seed(seed)
    return factory(**config)


def list() -> list[str]:
    """The registered model names."""
    return list_models()
