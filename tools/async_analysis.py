"""What the async generator knows about the sync source: which calls do I/O.

Read by ``tools/generate_async.py`` (see its documentation). A :class:`Graph`
indexes every module, class and function of the sync sources; a :class:`Scope`
tells, inside one function, the type of an expression (a database, a
pipeline, a walrus class) and whether a call is awaited, gives an async
iterator, or stays sync; ``Graph`` solves which functions do I/O, to a fixed
point.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# database attributes that stay sync in async code
DB_SYNC = frozenset(
    {
        "pipeline",
        "get_encoder",
        "register_script",
        "pubsub",
        "keyspace",
        "scripts",
        "capabilities",
        "backend_name",
        "connection_pool",
        "get_connection_kwargs",
        "response_callbacks",
    }
)
# database methods whose call gives an async iterator (not awaited)
DB_ASYNC_ITER = frozenset(
    {"scan_iter", "hscan_iter", "sscan_iter", "zscan_iter", "monitor_lines"}
)
DB_NAMES = frozenset({"database", "db", "_db", "__database__"})
# methods that return their object's database (typed Any for mypy's sake)
DB_GETTERS = frozenset({"_database"})
PIPE_AWAITED = frozenset({"execute", "reset", "watch", "unwatch"})
AWAITED_CALLABLES = frozenset(
    {"fn", "_fn", "func", "handler", "callback", "fetch", "operation", "wait"}
)


@dataclass
class Func:
    node: ast.FunctionDef
    module: Module
    owner: Klass | None
    io: bool = False
    agen: bool = False  # an async generator once converted
    returns_aiter: bool = False  # a sync function returning an async iterator


@dataclass
class Klass:
    name: str
    node: ast.ClassDef
    module: Module
    bases: list[str] = field(default_factory=list)
    methods: dict[str, Func] = field(default_factory=dict)
    attrs: dict[str, str] = field(default_factory=dict)  # attribute -> class name

    def lookup(self, name: str, graph: Graph) -> Func | None:
        for klass in self.mro(graph):
            if name in klass.methods:
                return klass.methods[name]
        return None

    def mro(self, graph: Graph) -> list[Klass]:
        out, todo = [], [self]
        while todo:
            k = todo.pop(0)
            if k not in out:
                out.append(k)
                todo.extend(
                    graph.klass(k.module, b)
                    for b in k.bases
                    if graph.klass(k.module, b)  # type: ignore[misc]
                )
        return out


@dataclass
class Module:
    path: str
    name: str
    tree: ast.Module
    names: dict[str, str] = field(default_factory=dict)  # local name -> qualname
    defs: dict[str, ast.stmt] = field(default_factory=dict)

    @property
    def target(self) -> str:
        return "walrus.asyncio." + self.name.removeprefix("walrus.")


class Graph:
    """Every definition of the sync sources, and which ones do I/O."""

    def __init__(self, paths: list[str]) -> None:
        self.modules: dict[str, Module] = {}
        self.classes: dict[str, Klass] = {}
        self.funcs: dict[str, Func] = {}
        self.all_funcs: list[Func] = []
        for path in paths:
            name = path.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
            tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
            self.modules[name] = Module(path, name, tree)
        for module in self.modules.values():
            self._index(module)
        self.converted: set[str] = set()
        self._solve()

    # -- indexing ----------------------------------------------------------------
    def _index(self, module: Module) -> None:
        body = list(module.tree.body)
        for stmt in module.tree.body:
            if isinstance(stmt, ast.If):
                body.extend(stmt.body)
        for stmt in body:
            if isinstance(stmt, ast.ImportFrom) and stmt.module:
                for alias in stmt.names:
                    local = alias.asname or alias.name
                    module.names[local] = f"{stmt.module}.{alias.name}"
            elif isinstance(stmt, ast.ClassDef):
                module.defs[stmt.name] = stmt
                module.names[stmt.name] = f"{module.name}.{stmt.name}"
                klass = Klass(stmt.name, stmt, module)
                klass.bases = [ast.unparse(b) for b in stmt.bases]
                for item in stmt.body:
                    if isinstance(item, ast.FunctionDef):
                        func = Func(item, module, klass)
                        klass.methods[item.name] = func
                        self._nested(func)
                    elif isinstance(item, ast.AnnAssign) and isinstance(
                        item.target, ast.Name
                    ):
                        klass.attrs[item.target.id] = ast.unparse(item.annotation)
                self.classes[f"{module.name}.{stmt.name}"] = klass
            elif isinstance(stmt, ast.FunctionDef):
                module.defs[stmt.name] = stmt
                module.names[stmt.name] = f"{module.name}.{stmt.name}"
                func = Func(stmt, module, None)
                self.funcs[f"{module.name}.{stmt.name}"] = func
                self._nested(func)
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                targets = (
                    stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                )
                for t in targets:
                    if isinstance(t, ast.Name):
                        module.defs[t.id] = stmt
                        module.names[t.id] = f"{module.name}.{t.id}"
        for klass in self.classes.values():
            if klass.module is module:
                self._attr_types(klass)

    def _nested(self, func: Func) -> None:
        self.all_funcs.append(func)
        for node in ast.walk(func.node):
            if node is not func.node and isinstance(node, ast.FunctionDef):
                self.all_funcs.append(Func(node, func.module, func.owner))

    def _attr_types(self, klass: Klass) -> None:
        for func in klass.methods.values():
            params = _param_types(func.node)
            for node in ast.walk(func.node):
                if isinstance(node, (ast.Assign, ast.AnnAssign)):
                    targets = (
                        node.targets if isinstance(node, ast.Assign) else [node.target]
                    )
                    for t in targets:
                        if (
                            isinstance(t, ast.Attribute)
                            and isinstance(t.value, ast.Name)
                            and t.value.id == "self"
                        ):
                            kind = None
                            if isinstance(node, ast.AnnAssign):
                                kind = ast.unparse(node.annotation)
                            elif isinstance(node.value, ast.Call):
                                kind = ast.unparse(node.value.func)
                            elif isinstance(node.value, ast.Name):
                                kind = params.get(node.value.id)
                            if kind and t.attr not in klass.attrs:
                                klass.attrs[t.attr] = kind

    def klass(self, module: Module, name: str | None) -> Klass | None:
        if not name:
            return None
        name = name.strip("'\"").split("[")[0].split(" | ")[0]
        qual = module.names.get(name.split(".")[0])
        if qual and "." in name:
            qual = qual + "." + name.split(".", 1)[1]
        return self.classes.get(qual or "")

    def func(self, module: Module, name: str) -> Func | None:
        return self.funcs.get(module.names.get(name, ""))

    # -- the fixed point -----------------------------------------------------------
    @staticmethod
    def _pair_io(func: Func) -> bool:
        """``__enter__`` is async when ``__exit__`` is, and the other way round."""
        pair = {"__enter__": "__exit__", "__exit__": "__enter__"}.get(func.node.name)
        other = func.owner.methods.get(pair) if func.owner and pair else None
        return other is not None and other.io

    def _solve(self) -> None:
        changed = True
        while changed:
            changed = False
            for func in self.all_funcs:
                scope = Scope(self, func)
                io = scope.does_io() or self._pair_io(func)
                agen = io and (is_generator(func.node) or func.node.name == "__iter__")
                aiter = not io and scope.returns_aiter()
                if (io, agen, aiter) != (func.io, func.agen, func.returns_aiter):
                    func.io, func.agen, func.returns_aiter = io, agen, aiter
                    changed = True
        # what gets converted: I/O, or naming something converted (fixed point)
        for func in self.funcs.values():
            if func.io or func.returns_aiter:
                self.converted.add(f"{func.module.name}.{func.node.name}")
        for qual, klass in self.classes.items():
            if any(f.io or f.returns_aiter for f in klass.methods.values()):
                self.converted.add(qual)
        changed = True
        while changed:
            changed = False
            for module in self.modules.values():
                for name, stmt in module.defs.items():
                    qual = f"{module.name}.{name}"
                    if qual in self.converted:
                        continue
                    used = {module.names.get(n) for n in _code_names(stmt)}
                    bases = {
                        module.names.get(ast.unparse(b).split(".")[0])
                        for b in getattr(stmt, "bases", [])
                    }
                    if (used | bases) & (self.converted - {qual}):
                        self.converted.add(qual)
                        changed = True


class Scope:
    """One function's view: the types of its names, and its calls' kinds."""

    def __init__(self, graph: Graph, func: Func) -> None:
        self.graph, self.func, self.module = graph, func, func.module
        self.locals: dict[str, ast.expr | str] = dict(_param_types(func.node))
        for node in ast.walk(func.node):
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                t = node.targets[0]
                if isinstance(t, ast.Name) and t.id not in self.locals:
                    self.locals[t.id] = node.value
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if isinstance(item.optional_vars, ast.Name):
                        self.locals.setdefault(item.optional_vars.id, item.context_expr)
        self.nested = {
            n.name: n
            for n in ast.walk(func.node)
            if isinstance(n, ast.FunctionDef) and n is not func.node
        }

    # -- types -------------------------------------------------------------------
    def type_of(self, expr: ast.expr, depth: int = 0) -> str | Klass | None:
        """``"DB"``, ``"PIPE"``, a Klass, or None when unknown."""
        if depth > 8:
            return None
        if isinstance(expr, ast.Name):
            if expr.id in ("self", "cls") and self.func.owner:
                return self.func.owner
            bound = self.locals.get(expr.id)
            found: str | Klass | None = None
            if isinstance(bound, str):
                found = self._named(bound)
            elif isinstance(bound, ast.expr):
                found = self.type_of(bound, depth + 1)
            if found is None and expr.id in DB_NAMES:
                return "DB"
            return found or self.graph.klass(self.module, expr.id)
        if isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Attribute):
            owner = self.type_of(expr.value.value, depth + 1)
            texts: list[tuple[str, Module]] = []
            if isinstance(owner, Klass):
                texts = [
                    (k.attrs[expr.value.attr], k.module)
                    for k in owner.mro(self.graph)
                    if expr.value.attr in k.attrs
                ]
            container = self.type_of(expr.value, depth + 1)
            if isinstance(container, Klass):  # a dict[K, V] subclass
                texts += [(b, container.module) for b in container.bases]
            for text, module in texts:
                if "[" in text:  # dict[K, V] or list[V]: the V
                    item = text.split("[", 1)[1].rstrip("]").split(",")[-1]
                    return self._named(item.strip(), module)
            return None
        if isinstance(expr, ast.Attribute):
            if expr.attr in DB_NAMES:
                return "DB"
            owner = self.type_of(expr.value, depth + 1)
            if isinstance(owner, Klass):
                for k in owner.mro(self.graph):
                    if expr.attr in k.attrs:
                        return self._named(k.attrs[expr.attr], k.module)
            if expr.attr == "scripts":
                return self.graph.classes.get("walrus.scripts.Scripts")
            if owner == "DB" and expr.attr == "pipe":
                return "PIPE"
            return None
        if isinstance(expr, ast.Call):
            f = expr.func
            if isinstance(f, ast.Attribute):
                if f.attr in DB_GETTERS:
                    return "DB"
                owner = self.type_of(f.value, depth + 1)
                if owner == "DB" and f.attr == "pipeline":
                    return "PIPE"
                target = self.method(owner, f.attr)
                if target is not None:
                    return self._returns(target)
                if owner == "PIPE":
                    return "PIPE"
            elif isinstance(f, ast.Call) and dotted(f.func) == "type":
                return self.func.owner  # type(self)(...)
            elif isinstance(f, ast.Name):
                if f.id in ("super", "cls", "self") and self.func.owner:
                    return self.func.owner
                klass = self.graph.klass(self.module, f.id)
                if klass:
                    return klass
                target = self.callee(f.id)
                if target is not None:
                    return self._returns(target)
        return None

    def _named(self, text: str, module: Module | None = None) -> str | Klass | None:
        base = text.strip("'\"").split(" | ")[0]
        if base == "Self" and self.func.owner:
            return self.func.owner
        if base in ("Driver", "DatabaseAPI") or base.endswith("Database"):
            return "DB"
        if base.split("[")[0] in ("Pipeline", "GuardedPipeline"):
            return "PIPE"
        return self.graph.klass(module or self.module, base)

    def _returns(self, func: Func) -> str | Klass | None:
        if func.node.returns is None:
            return None
        return self._named(ast.unparse(func.node.returns), func.module)

    def method(self, owner: str | Klass | None, name: str) -> Func | None:
        if isinstance(owner, Klass):
            return owner.lookup(name, self.graph)
        if owner == "DB":
            api = self.graph.classes.get("walrus.api.DatabaseAPI")
            return api.lookup(name, self.graph) if api else None
        return None

    def callee(self, name: str) -> Func | None:
        if name in self.nested:
            for f in self.graph.all_funcs:
                if f.node is self.nested[name]:
                    return f
        return self.graph.func(self.module, name)

    # -- kinds of calls ----------------------------------------------------------------
    def call_kind(self, call: ast.Call) -> str:
        """``"await"``, ``"aiter"`` (gives an async iterator) or ``"sync"``."""
        f = call.func
        if isinstance(f, ast.Attribute):
            if dotted(f) == "time.sleep":
                return "await"
            if f.attr in AWAITED_CALLABLES and isinstance(f.value, ast.Name):
                return "await"
            if f.attr == "wait" and self.attr_text(f.value) == "threading.Event":
                return "await"
            owner = self.type_of(f.value)
            if isinstance(f.value, ast.Call) and dotted(f.value.func) == "super":
                owner = self._super_owner()
            target = self.method(owner, f.attr)
            if target is not None:
                return _kind(target)
            if isinstance(owner, Klass) and _is_database_class(owner):
                owner = "DB"  # self.type(key) in the database's own extras
            if owner == "DB":
                if f.attr in DB_ASYNC_ITER:
                    return "aiter"
                return "sync" if f.attr in DB_SYNC or f.attr[0].isupper() else "await"
            if owner == "PIPE":
                return "await" if f.attr in PIPE_AWAITED else "sync"
            if f.attr in ("execute", "reset") and not call.args:
                return "await"
            return "sync"
        if isinstance(f, ast.Name):
            if f.id in AWAITED_CALLABLES:
                return "await"
            if (
                f.id == "len"
                and len(call.args) == 1
                and self.io_dunder(call.args[0], "__len__")
            ):
                return "await"
            target = self.callee(f.id)
            if target is not None:
                return _kind(target)
        return "sync"

    def attr_text(self, expr: ast.expr) -> str | None:
        """The type text of ``self.<attr>`` as its class assigns or declares it."""
        if not isinstance(expr, ast.Attribute):
            return None
        owner = self.type_of(expr.value)
        if isinstance(owner, Klass):
            for k in owner.mro(self.graph):
                if expr.attr in k.attrs:
                    return k.attrs[expr.attr]
        return None

    def io_dunder(self, expr: ast.expr, name: str) -> bool:
        """Whether ``expr``'s class has the dunder ``name`` and it does I/O."""
        method = self.method(self.type_of(expr), name)
        return method is not None and method.io

    def _super_owner(self) -> Klass | None:
        owner = self.func.owner
        if owner is None:
            return None
        for base in owner.bases:
            klass = self.graph.klass(owner.module, base)
            if klass:
                return klass
        return None

    def is_aiter(self, expr: ast.expr) -> bool:
        if isinstance(expr, ast.GeneratorExp):
            return any(self.is_aiter(c.iter) for c in expr.generators)
        if isinstance(expr, ast.Call):
            if dotted(expr.func) in ("iter", "islice") and expr.args:
                return self.is_aiter(expr.args[0])
            return self.call_kind(expr) == "aiter"
        if isinstance(expr, ast.Name):
            bound = self.locals.get(expr.id)
            if isinstance(bound, ast.expr) and self.is_aiter(bound):
                return True
        owner = self.type_of(expr)
        method = self.method(owner, "__iter__") if isinstance(owner, Klass) else None
        return method is not None and _kind(method) == "aiter"

    def manager_io(self, expr: ast.expr) -> bool:
        owner = self.type_of(expr)
        if owner == "PIPE":
            return False
        return any(
            (m := self.method(owner, name)) is not None and m.io
            for name in ("__enter__", "__exit__")
        )

    def does_io(self) -> bool:
        nodes = _own_nodes(self.func.node)
        lazy = {  # an async generator expression needs no async def
            id(c)
            for n in nodes
            if isinstance(n, ast.GeneratorExp)
            for c in n.generators
        }
        for node in nodes:
            if id(node) in lazy:
                continue
            if isinstance(node, ast.Call) and self.call_kind(node) == "await":
                return True
            if isinstance(node, (ast.For, ast.comprehension)) and self.is_aiter(
                node.iter
            ):
                return True
            if isinstance(node, ast.YieldFrom) and self.is_aiter(node.value):
                return True
            if isinstance(node, ast.Compare) and self.contains_io(node):
                return True
            if isinstance(node, ast.With) and any(
                self.manager_io(i.context_expr) for i in node.items
            ):
                return True
        return False

    def contains_io(self, node: ast.Compare) -> bool:
        """``x in obj`` where ``obj``'s ``__contains__`` does I/O."""
        return (
            len(node.ops) == 1
            and isinstance(node.ops[0], (ast.In, ast.NotIn))
            and self.io_dunder(node.comparators[0], "__contains__")
        )

    def returns_aiter(self) -> bool:
        returns = [
            n
            for n in _own_nodes(self.func.node)
            if isinstance(n, ast.Return) and n.value is not None
        ]
        return bool(returns) and all(self.is_aiter(r.value) for r in returns)  # type: ignore[arg-type]


def _is_database_class(klass: Klass) -> bool:
    """The database extras and factory mixins: ``self`` is a database there."""
    return klass.name == "DatabaseAPI" or klass.name.endswith("Factories")


def _kind(func: Func) -> str:
    if func.agen or func.returns_aiter:
        return "aiter"
    return "await" if func.io else "sync"


def _code_names(stmt: ast.AST) -> set[str]:
    """The names ``stmt`` uses at run time (not in annotations)."""
    skip: set[int] = set()
    for n in ast.walk(stmt):
        if isinstance(n, ast.arg) and n.annotation is not None:
            skip.add(id(n.annotation))
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.returns:
            skip.add(id(n.returns))
        elif isinstance(n, ast.AnnAssign):
            skip.add(id(n.annotation))
    out: set[str] = set()
    todo: list[ast.AST] = [stmt]
    while todo:
        node = todo.pop()
        if id(node) in skip:
            continue
        if isinstance(node, ast.Name):
            out.add(node.id)
        todo.extend(ast.iter_child_nodes(node))
    return out


def dotted(expr: ast.expr) -> str:
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return f"{dotted(expr.value)}.{expr.attr}"
    return ""


def _param_types(node: ast.FunctionDef) -> dict[str, str]:
    args = node.args
    return {
        a.arg: ast.unparse(a.annotation)
        for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]
        if a.annotation is not None
    }


def _own_nodes(func: ast.FunctionDef) -> list[ast.AST]:
    """The nodes of ``func``'s body, not those of functions nested in it."""
    out: list[ast.AST] = []
    todo: list[ast.AST] = list(func.body)
    while todo:
        node = todo.pop()
        out.append(node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        todo.extend(ast.iter_child_nodes(node))
    return out


def is_generator(func: ast.FunctionDef) -> bool:
    return any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in _own_nodes(func))
