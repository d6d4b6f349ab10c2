"""The shape of the code, held by tests: small modules, no import cycles, one home per partner.

These read the source, not the running service: a newcomer must find a rule in one hop from
the folder names, so a module that grows past what one reads in a sitting, two modules that
need each other, or a partner's name scattered over the code base is a failure here.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.partners import PARTNERS as SYSTEMS

APP = Path(__file__).resolve().parent.parent / "app"
MAX_LINES = 450
# A partner's name may appear in its connector, its registry entry and at most one business
# rule that needs it by name (porting at the number-portability registry, say).
MAX_PARTNER_MODULES = 3


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(APP.rglob("*.py")):
        relative = path.relative_to(APP.parent)
        if "migrations" in relative.parts:
            continue
        parts = list(relative.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


MODULES = dict(_modules())


def _resolve(name: str) -> str | None:
    """The app module an import of ``name`` loads: the module itself, else its package."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str, path: Path) -> set[str]:
    """Every app module ``module`` imports, wherever the import statement stands (inside a
    function or a ``TYPE_CHECKING`` block too: a late import hides a cycle, it does not
    remove it)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from app.services import audit`` loads app.services.audit when it is a module.
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for name in names:
            if name.startswith("app"):
                target = _resolve(name)
                if target is not None and target != module:
                    found.add(target)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_the_import_graph_has_no_cycle() -> None:
    graph = {module: _imports(module, path) for module, path in MODULES.items()}
    cycles = _cycles(graph)
    assert cycles == [], "modules that import each other: " + "; ".join(
        " <-> ".join(component) for component in cycles)


def test_the_cycle_finder_sees_a_late_import(tmp_path: Path) -> None:
    """The finder itself: a cycle closed by an import inside a function is still a cycle."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from app.db import utcnow\n    return utcnow\n")
    assert _imports("app.m", source) == {"app.db"}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_longer_than_one_sitting(module: str) -> None:
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines"


def _spellings(system: str) -> re.Pattern[str]:
    spelled = re.escape(system).replace("a", "[aä]") if system == "stadsnat" else re.escape(system)
    return re.compile(rf"(?<![A-Za-z0-9_]){spelled}(?![A-Za-z0-9_])", re.IGNORECASE)


def _naming(system: str) -> list[str]:
    """The modules outside the sandbox (which plays the partners) that name ``system``, in
    code, strings or comments alike."""
    pattern = _spellings(system)
    return sorted(module for module, path in MODULES.items()
                  if not module.startswith("app.sandbox")
                  and pattern.search(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_a_partner_is_named_in_few_places(system: str) -> None:
    modules = _naming(system)
    assert len(modules) <= MAX_PARTNER_MODULES, f"{system} is named in {modules}"
