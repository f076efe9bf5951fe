"""Imports point only toward the core: the layering of STYLE.md, checked on the source (AST) and at run time."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "odkit"
CORE = ("boxes", "ops", "eval", "io")
TORCH_LIBS = {"torch", "torchvision", "tensorflow", "keras", "safetensors"}


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path``; relative imports resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package_parts = ["odkit", *path.relative_to(PACKAGE).parent.parts]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.append((node.lineno, name))
    return found


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "odkit" and len(parts) > 1 else None


def _source_files(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", CORE)
def test_core_never_imports_torch_or_upper_layers(layer: str) -> None:
    if not (PACKAGE / layer).is_dir():
        pytest.skip(f"odkit.{layer} does not exist yet")
    allowed = {"boxes", "ops", "errors", "_typing", "_arrays", "_runtime", "_coco_json", layer}
    problems = []
    for path in _source_files(layer):
        for line, module in _imports(path):
            top = module.split(".")[0]
            if top in TORCH_LIBS:
                problems.append(f"{path.relative_to(PACKAGE)}:{line} imports {module}")
            sub = _layer(module)
            if top == "odkit" and sub is not None and sub not in allowed:
                problems.append(f"{path.relative_to(PACKAGE)}:{line} imports {module} (layer {sub!r})")
            if module == "odkit":
                problems.append(f"{path.relative_to(PACKAGE)}:{line} imports the top-level package")
    assert not problems, "\n".join(problems)


def test_boxes_does_not_import_ops() -> None:
    bad = [(p, m) for p in _source_files("boxes") for _, m in _imports(p) if _layer(m) == "ops"]
    assert not bad


def test_nothing_below_the_cli_imports_it() -> None:
    bad = [
        f"{path.relative_to(PACKAGE)}:{line}"
        for path in PACKAGE.rglob("*.py")
        if "cli" not in path.relative_to(PACKAGE).parts and path.name != "__main__.py"
        for line, module in _imports(path)
        if _layer(module) == "cli"
    ]
    assert not bad, bad


def test_core_runs_without_torch_at_runtime() -> None:
    modules = ", ".join(f"odkit.{m}" for m in CORE if (PACKAGE / m).is_dir())
    code = f"import sys, odkit, {modules}; bad = [m for m in {sorted(TORCH_LIBS)!r} if m in sys.modules]; print(bad)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_cli_parser_builds_without_torch() -> None:
    code = "import sys; from odkit.cli.main import build_parser; build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr


def test_top_level_names_resolve_lazily() -> None:
    code = (
        "import sys, odkit; heavy = [m for m in ('odkit.eval', 'odkit.io', 'odkit.data') if m in sys.modules]; "
        "missing = [n for n in odkit.__all__ if getattr(odkit, n, None) is None]; print(heavy, missing)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] []", out.stdout + out.stderr


def test_eval_convert_check_run_with_torch_unavailable(tmp_path: Path) -> None:
    """``odkit eval``, ``convert`` and ``check`` must work on a machine without torch (blocked here)."""
    import json

    gt = {
        "images": [{"id": 1, "file_name": "a.png", "width": 20, "height": 20}],
        "categories": [{"id": 1, "name": "cat"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 2, 10, 10], "area": 100, "iscrowd": 0}],
    }
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    results = [{"image_id": 1, "category_id": 1, "bbox": [2, 2, 10, 10], "score": 1}]
    (tmp_path / "pred.json").write_text(json.dumps(results))
    code = (
        "import sys; sys.modules['torch'] = None; from odkit.cli.main import main; d = sys.argv[1]; "
        "codes = [main(['eval', d + '/gt.json', d + '/pred.json']), "
        "main(['convert', d + '/gt.json', d + '/yolo', '--to', 'yolo', '--copy-images', 'none']), "
        "main(['check', d + '/gt.json', '--no-images'])]; "
        "print('CODES', codes, [m for m in sys.modules if m.startswith(('torch.', 'torchvision'))])"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True)
    assert "CODES [0, 0, 0] []" in out.stdout, out.stdout + out.stderr
