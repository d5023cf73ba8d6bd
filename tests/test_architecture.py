"""The layout's promises, checked on the code itself (docs/architecture.md draws them).

- `smart/` is the SMART protocol with no framework: importing it loads no Django.
- No import cycle between the project's modules, counting imports inside functions (a
  function-local import hides a cycle from Python, not from a reader).
- Layers only import downwards: smart <- smartapp <- portal <- api; config wires them; the sandbox
  EHR is a separate server that shares only the protocol package (and the demo's seeding).
- No module over 400 lines, no function over 60, in the code a reviewer reads.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "smart", "smartapp", "portal", "api", "sandbox")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60

# Which top-level packages each package may import (besides itself).
ALLOWED = {
    "smart": set(),
    "smartapp": {"smart", "config"},
    "portal": {"smart", "smartapp"},
    # The use-case API reads through the same services as the pages (and their filters).
    "api": {"smart", "smartapp", "portal"},
    "config": {"smart", "smartapp", "portal", "api", "sandbox"},
    # The sandbox speaks the protocol (smart) and, for the demo's seeding only, registers the
    # app's side of its demo client (smartapp.registry) and reuses the health probes.
    "sandbox": {"smart", "smartapp", "config"},
}
# Third-party packages that would make `smart` more than a protocol library.
FRAMEWORKS = ("django", "celery", "redis", "httpx", "psycopg", "environ", "kombu")


def _modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            relative = path.relative_to(ROOT).with_suffix("")
            parts = list(relative.parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join(parts), path


MODULES = dict(_modules())


def _resolve(name: str) -> str | None:
    """The project module an import name refers to (the nearest enclosing one)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str, path: Path) -> set[str]:
    """Every project module `module` imports, at any depth of its code."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for name in names:
            target = _resolve(name)
            if target and target != module:
                found.add(target)
    return found


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _third_party(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return found


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in GRAPH:
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_sees_function_local_imports():
    # The walk must count imports inside functions, or the cycle test below proves nothing.
    source = "def f():\n    from smart import pkce\n"
    probe = ROOT / "smartapp" / "_probe_for_architecture_test.py"
    probe.write_text(source)
    try:
        assert "smart.pkce" in _imports("smartapp._probe_for_architecture_test", probe)
    finally:
        probe.unlink()


def test_no_import_cycles():
    assert _cycles() == []


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_layers_import_only_downwards(package):
    wrong = sorted(
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        if module.split(".")[0] == package
        for target in targets
        if target.split(".")[0] not in {package, *ALLOWED[package]}
    )
    assert wrong == []


def test_smart_names_no_framework_in_its_source():
    wrong = sorted(
        f"{module}: {name}"
        for module, path in MODULES.items()
        if module.split(".")[0] == "smart"
        for name in _third_party(path)
        if name in FRAMEWORKS
    )
    assert wrong == []


def test_importing_smart_loads_no_django():
    modules = sorted(module for module in MODULES if module.split(".")[0] == "smart")
    code = (
        f"import sys, importlib\nfor m in {modules!r}: importlib.import_module(m)\n"
        "leaked = sorted(n for n in sys.modules if n.split('.')[0] in "
        f"{FRAMEWORKS!r})\n"
        "assert not leaked, leaked\n"
        "import os; assert 'DJANGO_SETTINGS_MODULE' not in os.environ\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_modules_and_functions_stay_small():
    too_long = []
    for module, path in MODULES.items():
        source = path.read_text()
        if (lines := len(source.splitlines())) > MAX_MODULE_LINES:
            too_long.append(f"{module}: {lines} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{module}.{node.name}: {length} lines")
    assert too_long == []
