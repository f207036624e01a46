"""The package's shape, checked from its source with `ast` (no module of it is imported): no
import cycles, a mock apart from the client, a small `ui/` top level, one way into the
conversation engine, and no mixins (classes that borrow their host's attributes)."""

from __future__ import annotations

import ast
import importlib
import itertools
from collections import deque
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE_ROOT = ROOT / "desktop"
PACKAGE = "streamdesk"
UI_TOP_LEVEL_LIMIT = 12


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    tree: ast.Module

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"

    @property
    def where(self) -> str:
        return str(self.path.relative_to(ROOT))


@dataclass(frozen=True)
class Import:
    """One name an import statement binds: `import a.b` gives ("a.b", None), `from a import c`
    gives ("a", "c"); `target` is the package module the statement loads."""

    module: str
    name: str | None
    target: str
    line: int


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(f"{package}.")


def load_modules() -> dict[str, Module]:
    modules = {}
    for path in sorted((SOURCE_ROOT / PACKAGE).rglob("*.py")):
        parts = path.relative_to(SOURCE_ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        name = ".".join(parts)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        modules[name] = Module(name, path, tree)
    return modules


MODULES = load_modules()


def is_type_checking(test: ast.expr) -> bool:
    """`if TYPE_CHECKING:` or `if typing.TYPE_CHECKING:`."""
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def runtime_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """Every node below `node` that can run, at module level or in a function: the body of an
    `if TYPE_CHECKING:` block is skipped (its `else:` is kept)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and is_type_checking(child.test):
            for orelse in child.orelse:
                yield orelse
                yield from runtime_nodes(orelse)
            continue
        yield child
        yield from runtime_nodes(child)


def absolute_module(module: Module, node: ast.ImportFrom) -> str:
    """The absolute name `from ... import` reads from, relative imports resolved."""
    if not node.level:
        return node.module or ""
    package = module.name if module.is_package else module.name.rpartition(".")[0]
    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
    return f"{base}.{node.module}" if node.module else base


def imports(module: Module, known: Collection[str] = MODULES.keys()) -> Iterator[Import]:
    """The `known` modules `module` imports at run time (module level and inside functions)."""
    for node in runtime_nodes(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    yield Import(alias.name, None, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            source = absolute_module(module, node)
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                target = submodule if submodule in known else source
                if target in known:
                    yield Import(source, alias.name, target, node.lineno)


def import_graph() -> dict[str, dict[str, int]]:
    """module -> {imported module: line of its first import}."""
    graph: dict[str, dict[str, int]] = {name: {} for name in MODULES}
    for name, module in MODULES.items():
        for found in imports(module):
            if found.target != name:
                graph[name].setdefault(found.target, found.line)
    return graph


def strongly_connected(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit to meet)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components


def shortest_cycle(graph: dict[str, dict[str, int]], component: list[str]) -> list[str]:
    """A shortest path from the component's first module back to itself, inside the component."""
    start, members = component[0], set(component)
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for successor in sorted(graph[node]):
            if successor not in members:
                continue
            if successor == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [start, *reversed(path[:-1]), start]
            if successor not in came_from:
                came_from[successor] = node
                queue.append(successor)
    raise AssertionError(f"{component} is not a cycle")


def describe_cycle(graph: dict[str, dict[str, int]], component: list[str]) -> str:
    path = shortest_cycle(graph, component)
    hops = [
        f"    {a} -> {b}  ({MODULES[a].where}:{graph[a][b]})" for a, b in itertools.pairwise(path)
    ]
    return "\n".join([f"  {len(component)} modules: {', '.join(component)}", *hops])


def test_the_import_graph_sees_imports_everywhere_but_type_checking_blocks() -> None:
    source = ast.parse(
        "import streamdesk.core.events\n"
        "from streamdesk.core import providers, errors as e\n"
        "from streamdesk.core.providers import builtin\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from streamdesk.core.request import Endpoint\n"
        "else:\n"
        "    from streamdesk.core import redact\n"
        "def later():\n"
        "    from . import sse\n"
        "    from .transports import _classify\n"
    )
    module = Module("streamdesk.core.example", SOURCE_ROOT / "streamdesk/core/example.py", source)
    known = {
        "streamdesk.core",
        "streamdesk.core.errors",
        "streamdesk.core.events",
        "streamdesk.core.providers",
        "streamdesk.core.redact",
        "streamdesk.core.request",
        "streamdesk.core.sse",
        "streamdesk.core.transports",
        "streamdesk.core.transports._classify",
    }
    assert sorted({found.target for found in imports(module, known)}) == [
        "streamdesk.core.errors",
        "streamdesk.core.events",
        "streamdesk.core.providers",
        "streamdesk.core.redact",
        "streamdesk.core.sse",
        "streamdesk.core.transports._classify",
    ]


def test_cycle_finding_reports_each_component_with_a_path() -> None:
    graph = {"a": {"b": 1}, "b": {"c": 1, "d": 1}, "c": {"a": 1}, "d": {"e": 1}, "e": {"d": 1}}
    components = [c for c in strongly_connected(graph) if len(c) > 1]
    assert sorted(components) == [["a", "b", "c"], ["d", "e"]]
    assert shortest_cycle(graph, ["a", "b", "c"]) == ["a", "b", "c", "a"]


def test_no_import_cycles() -> None:
    """Modules import one another in one direction only. Counted: `import`s at module level and
    inside functions (a deferred import still ties the two modules together), not those under
    `if TYPE_CHECKING:`; `from a.b import c` counts as importing module `a.b.c` when `c` is a
    module, else `a.b`. Dynamic imports (`importlib.import_module`) are not seen."""
    graph = import_graph()
    cycles = [c for c in strongly_connected(graph) if len(c) > 1]
    report = "\n".join(describe_cycle(graph, c) for c in sorted(cycles))
    assert not cycles, f"{len(cycles)} import cycle(s):\n{report}"


def test_the_mock_imports_nothing_of_the_client() -> None:
    """The mock is a stand-in server: it shares no code with the client it tests, so a bug in
    the client cannot hide behind the same bug in the mock."""
    found = [
        f"{module.where}:{imported.line} imports {imported.target}"
        for name, module in MODULES.items()
        if within(name, "streamdesk.mock")
        for imported in imports(module)
        if not within(imported.target, "streamdesk.mock") and imported.target != PACKAGE
    ]
    assert not found, "\n".join(found)


def test_ui_top_level_stays_small() -> None:
    """ui/ groups modules by concern in subpackages; its top level holds only the app's entry,
    the event-loop glue and a few shared helpers."""
    top_level = sorted(p.name for p in (SOURCE_ROOT / PACKAGE / "ui").glob("*.py"))
    assert len(top_level) <= UI_TOP_LEVEL_LIMIT, top_level


ENGINE_NAMES = {"stream_chat", "make_transport"}
ENGINE_MODULES = ("streamdesk.core.stream", "streamdesk.core.transports")
ENGINE_PACKAGES = ("streamdesk.core", "streamdesk.mock")
ALLOWED_ENGINE_IMPORTS = {("streamdesk.core.transports", "Transport")}


def engine_uses(module: Module) -> Iterator[str]:
    for found in imports(module):
        if (found.module, found.name) in ALLOWED_ENGINE_IMPORTS:
            continue
        if any(within(found.target, m) for m in ENGINE_MODULES) or found.name in ENGINE_NAMES:
            imported = found.module if found.name is None else f"{found.module}.{found.name}"
            yield f"{module.where}:{found.line} imports {imported}"
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Call):
            called = node.func
            name = called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", "")
            if name in ENGINE_NAMES:
                yield f"{module.where}:{node.lineno} calls {name}"


def test_only_core_streams_a_conversation() -> None:
    """The conversation engine in core is the only code that opens a transport: nothing outside
    `streamdesk.core` (and the self-contained mock) imports `stream_chat`, `make_transport`,
    `streamdesk.core.stream` or any module of `streamdesk.core.transports`, nor calls the two by
    name. The window, the CLI and the self-test go through the engine's public API instead.
    Allowed: `from streamdesk.core.transports import Transport`, the protocol as a type.
    Helpers that live in a transport's private module (`_classify`, `_tls`) count as transport
    modules too: what the UI or CLI needs from them belongs in a public core module."""
    found = [
        use
        for name, module in MODULES.items()
        if not any(within(name, p) for p in ENGINE_PACKAGES)
        for use in engine_uses(module)
    ]
    assert not found, "outside core:\n" + "\n".join(sorted(set(found)))


def class_body_functions(node: ast.ClassDef) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Functions defined directly in a class body, including under `if`/`try` blocks."""
    pending: list[ast.stmt] = list(node.body)
    while pending:
        statement = pending.pop()
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            yield statement
        elif not isinstance(statement, ast.ClassDef):
            pending.extend(s for s in ast.iter_child_nodes(statement) if isinstance(s, ast.stmt))


def test_no_class_defines_getattr() -> None:
    """A class that does two jobs becomes two objects talking through public methods, not a
    mixin that reaches into its host: a `__getattr__` in a class body (even one only for the
    type checker) is how a mixin borrows attributes it does not own, so none is allowed."""
    found = [
        f"{module.where}:{function.lineno} {node.name}.__getattr__"
        for module in MODULES.values()
        for node in ast.walk(module.tree)
        if isinstance(node, ast.ClassDef)
        for function in class_body_functions(node)
        if function.name == "__getattr__"
    ]
    assert not found, "\n".join(found)


def top_level_classes(module: Module) -> dict[str, ast.ClassDef]:
    return {node.name: node for node in module.tree.body if isinstance(node, ast.ClassDef)}


def package_base(module: Module, base: ast.expr) -> tuple[Module, ast.ClassDef] | None:
    """The package class a base expression names (a bare name, defined here or imported)."""
    if not isinstance(base, ast.Name):
        return None
    if base.id in top_level_classes(module):
        return module, top_level_classes(module)[base.id]
    for node in ast.walk(module.tree):
        if isinstance(node, ast.ImportFrom):
            source = MODULES.get(absolute_module(module, node))
            for alias in node.names:
                if source is not None and (alias.asname or alias.name) == base.id:
                    found = top_level_classes(source).get(alias.name)
                    return (source, found) if found is not None else None
    return None


def outside_base_names(module: Module, base: ast.expr) -> set[str] | None:
    """Attribute names of a base class from outside the package (Qt, the standard library),
    looked up by importing it; None when it cannot be resolved."""
    owner, name = "builtins", ast.unparse(base)
    if isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name):
        name = base.attr
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if (alias.asname or alias.name) == base.value.id:
                        owner = alias.name
    elif isinstance(base, ast.Name):
        for node in ast.walk(module.tree):
            if isinstance(node, ast.ImportFrom) and not node.level and node.module:
                for alias in node.names:
                    if (alias.asname or alias.name) == base.id:
                        owner, name = node.module, alias.name
    try:
        return set(dir(getattr(importlib.import_module(owner), name)))
    except (ImportError, AttributeError):
        return None


def self_attributes(node: ast.ClassDef, context: type[ast.expr_context]) -> set[str]:
    return {
        found.attr
        for found in ast.walk(node)
        if isinstance(found, ast.Attribute)
        and isinstance(found.value, ast.Name)
        and found.value.id == "self"
        and isinstance(found.ctx, context)
    }


RECORD_BASES = {"NamedTuple", "TypedDict", "Protocol"}


def declares_fields(node: ast.ClassDef) -> bool:
    """A dataclass, named tuple, typed dict or protocol: its bare annotations are its fields."""
    decorators = [d.func if isinstance(d, ast.Call) else d for d in node.decorator_list]
    return any(ast.unparse(d).endswith("dataclass") for d in decorators) or any(
        ast.unparse(base).rpartition(".")[2] in RECORD_BASES for base in node.bases
    )


def owned_attributes(module: Module, node: ast.ClassDef) -> set[str] | None:
    """What a class sets or defines itself or inherits; None when a base cannot be resolved.
    A bare class-level annotation (`store: Store`) is not owned, except in a record class: it
    declares an attribute that someone else sets."""
    names = self_attributes(node, ast.Store)
    fields = declares_fields(node)
    for statement in node.body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(statement.name)
        elif isinstance(statement, ast.Assign):
            names |= {t.id for t in statement.targets if isinstance(t, ast.Name)}
        elif isinstance(statement, ast.AnnAssign) and (statement.value is not None or fields):
            names.add(ast.unparse(statement.target))
    for base in node.bases:
        inside = package_base(module, base)
        inherited = owned_attributes(*inside) if inside else outside_base_names(module, base)
        if inherited is None:
            return None
        names |= inherited
    return names


def borrowed_attributes(module: Module, node: ast.ClassDef) -> list[str]:
    """Attributes a class reads from `self` that it neither sets nor inherits: its host's."""
    owned = owned_attributes(module, node)
    if owned is None:
        return []
    read = {a for a in self_attributes(node, ast.Load) if not a.startswith("__")}
    return sorted(read - owned)


def test_no_class_inherits_a_mixin_from_another_module() -> None:
    """A base class from another module of the package must stand on its own: one that reads
    attributes of `self` it never sets (declared by annotation, or set by the subclass) is a
    mixin, a piece of its host cut out into another file."""
    found = [
        f"{module.where}:{node.lineno} {node.name} inherits {base.name} "
        f"({origin.where}), which uses its host's {', '.join(borrowed)}"
        for module in MODULES.values()
        for node in top_level_classes(module).values()
        for origin, base in filter(None, (package_base(module, b) for b in node.bases))
        if origin is not module
        for borrowed in [borrowed_attributes(origin, base)]
        if borrowed
    ]
    assert not found, "\n".join(found)


def test_the_mixin_check_sees_attributes_a_base_borrows() -> None:
    source = ast.parse(
        "from PySide6.QtCore import QObject\n"
        "class Standalone(QObject):\n"
        "    limit = 3\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.items = []\n"
        "    def add(self, item):\n"
        "        if len(self.items) < self.limit:\n"
        "            self.items.append(item)\n"
        "        self.deleteLater()\n"
        "class Mixin:\n"
        "    store: object\n"
        "    def save(self):\n"
        "        self.store.write(self.window)\n"
        "@dataclass(frozen=True)\n"
        "class Record:\n"
        "    store: object\n"
        "    def save(self):\n"
        "        self.store.write()\n"
    )
    module = Module("streamdesk.example", SOURCE_ROOT / "streamdesk/example.py", source)
    classes = top_level_classes(module)
    assert borrowed_attributes(module, classes["Standalone"]) == []
    assert borrowed_attributes(module, classes["Mixin"]) == ["store", "window"]
    assert borrowed_attributes(module, classes["Record"]) == []
