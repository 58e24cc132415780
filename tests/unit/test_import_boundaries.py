"""What the runtime package may import: no import cycles, and never the sample generator.

Read from the source (ast), not by importing: a function-level import counts as much as one at the
top of the module, since it is still a dependency, only hidden.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "plugins" / "procure"

# The one place production code may reach the sample generator: the `procure sample-data` command.
SAMPLE_IMPORTERS_ALLOWED = {("procure.cli", "sample_data")}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT / "plugins").with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str) -> list[tuple[str, str | None]]:
    """(imported module, enclosing function or None) for every import in the file; `from a import b`
    gives a and a.b (b may be a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: list[tuple[str, str | None]] = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
            if isinstance(child, ast.Import):
                out.extend((alias.name, function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parent = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*parent, base] if base else parent)
                out.append((base, function))
                out.extend((f"{base}.{alias.name}", function) for alias in child.names)
            elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue  # annotations only, never run
            visit(child, inner)

    visit(tree, None)
    return out


def _graph(paths: list[Path]) -> dict[str, dict[str, str | None]]:
    modules = {_module_name(p): p for p in paths}
    graph: dict[str, dict[str, str | None]] = {}
    for name, path in modules.items():
        for target, function in _imports(path, name):
            if target in modules and target != name:
                graph.setdefault(name, {})[target] = function
    return graph


def test_production_code_never_imports_the_sample_generator():
    sources = [*PACKAGE.rglob("*.py"), *(ROOT / "dags").glob("*.py"), *(ROOT / "expectations").glob("*.py")]
    offenders = []
    for path in sources:
        module = _module_name(path) if path.is_relative_to(PACKAGE) else path.stem
        for target, function in _imports(path, module):
            if target.split(".")[0] == "procure_sample" and (module, function) not in SAMPLE_IMPORTERS_ALLOWED:
                offenders.append(f"{path.relative_to(ROOT)} ({function or 'module level'}) imports {target}")
    assert not offenders, "\n".join(offenders)
    assert not (PACKAGE / "sample").exists(), "the sample generator lives in plugins/procure_sample, not in procure"


def test_the_sample_data_command_still_reaches_the_generator():
    imports = _imports(PACKAGE / "cli.py", "procure.cli")
    assert ("procure_sample.generate", "sample_data") in imports


def _cycles(graph: dict[str, dict[str, str | None]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, {}):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for v in list(graph):
        if v not in index:
            connect(v)
    return found


def test_no_import_cycles_in_the_package():
    graph = _graph(list(PACKAGE.rglob("*.py")))
    cycles = _cycles(graph)
    described = [
        "; ".join(f"{a} -> {b} ({graph[a][b] or 'module level'})" for a in sorted(c) for b in graph[a] if b in c)
        for c in cycles
    ]
    assert not cycles, "import cycles:\n" + "\n".join(described)


def test_the_cycle_check_finds_a_cycle_hidden_in_a_function():
    assert _cycles({"a": {"b": None}, "b": {"a": "load"}}) == [{"a", "b"}]
