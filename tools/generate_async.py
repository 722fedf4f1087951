"""Generate walrus's async API from its sync source: ``python tools/generate_async.py``.

The features are written once, in sync form (``walrus/features``,
``walrus/api.py``, ``walrus/transactions.py``, ``walrus/scripts.py``). This
script reads them, finds every call that talks to the database, and writes
the async twins under ``walrus/asyncio/``: those calls awaited, the functions
that make them ``async def``, loops over async iterators ``async for``,
``with`` blocks whose manager does I/O ``async with``. A definition that
neither does I/O nor names one that does is imported from the sync module,
not copied. ``--check`` exits 1 when a generated file is stale (tox runs it
through ``tests/test_async_generated.py``).

How a call is known to do I/O, from the sync source alone:

* a method of a database (``self.database.hget(...)``, ``db.set(...)``):
  every redis-py command, the named operations (``db.scripts.cas(...)``)
  and the database extras that do I/O themselves; not the sync helpers in
  ``DB_SYNC`` (``pipeline()``, ``get_encoder()`` ...);
* ``execute()`` and ``reset()`` of a pipeline;
* a function or method of the generated code that does I/O, found by
  following ``self``, ``cls``, ``super()``, the classes named in
  annotations and constructors, and the return annotations of calls;
* the calls named in ``AWAITED_CALLABLES`` (a user's function that is a
  coroutine function in async code, e.g. the function under ``@cached``).

Dunder methods that do I/O cannot be awaited; they become the named
methods of ``DUNDER_NAMES`` (``await h.length()``), or are left out of the
async class when they have no async meaning (``int(counter)``).
"""

from __future__ import annotations

import argparse
import ast
import shutil
import subprocess
import sys
from pathlib import Path

from async_analysis import (
    ROOT,
    Graph,
    Module,
    Scope,
    dotted,
    is_generator,
)

SOURCES = [
    "walrus/api.py",
    "walrus/transactions.py",
    "walrus/scripts.py",
    *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "walrus/features").rglob("*.py")),
]


# dunders that do I/O: their async names; any other dunder that does I/O
# (int(counter), counter += 1, bool(...)) has no async form: the class leaves
# it out, the named methods remain
DUNDER_NAMES: dict[str, str] = {
    "__getitem__": "__getitem__",  # await obj[key]
    "__get__": "__get__",  # await obj.cached_property
    "__call__": "__call__",
    "__setitem__": "setitem",
    "__delitem__": "delitem",
    "__contains__": "contains",
    "__len__": "length",
    "__iter__": "__aiter__",
    "__enter__": "__aenter__",
    "__exit__": "__aexit__",
    "__or__": "union",
    "__and__": "intersection",
    "__sub__": "difference",
    "__ior__": "union_update",
    "__iand__": "intersection_update",
    "__isub__": "difference_update",
}
# classes where an operator means something else (a counter's ``-`` subtracts)
CLASS_DUNDERS: dict[str, dict[str, str | None]] = {
    "Counter": {"__sub__": None, "__isub__": None},
}
# methods with no async form (threads where async code has tasks): left out
LEFT_OUT = frozenset(
    {
        "walrus.api.DatabaseAPI.listener",
        "walrus.features.cache.Cache.cache_async",
    }
)
# threads' tools and their asyncio counterparts in walrus/asyncio/_runtime.py
RUNTIME_NAMES = {
    "threading.Event": "Event",
    "threading.local": "TaskLocal",
    "signal.signal": "on_signal",
}
TYPING_ASYNC = {"Iterator": "AsyncIterator", "Generator": "AsyncGenerator"}


def _is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__") and name != "__init__"


def async_dunder(owner: str, name: str) -> str | None:
    """The async name of the I/O dunder ``name`` of class ``owner`` (None: left out)."""
    special = CLASS_DUNDERS.get(owner, {})
    return special[name] if name in special else DUNDER_NAMES.get(name)


def _yield_returned(node: ast.FunctionDef) -> None:
    """Turn ``return <iterable>`` (the last statement) into yielding its items."""
    last = node.body[-1]
    if not isinstance(last, ast.Return) or last.value is None:
        raise SystemExit(
            f"{node.name}: an I/O __iter__ must end with return <iterable>"
        )
    source = last.value
    if isinstance(source, ast.Call) and dotted(source.func) == "iter" and source.args:
        source = source.args[0]
    item = ast.Name("_item", ast.Store())
    loop = ast.For(
        item, source, [ast.Expr(ast.Yield(ast.Name("_item", ast.Load())))], []
    )
    node.body[-1] = ast.copy_location(loop, last)


class Asyncify(ast.NodeTransformer):
    """Rewrites the converted definitions of one module."""

    def __init__(self, graph: Graph, module: Module) -> None:
        self.graph, self.module = graph, module
        self.by_node = {id(f.node): f for f in graph.all_funcs}
        self.scopes: list[Scope] = []
        self.needs: set[str] = set()  # helper imports the output needs

    @property
    def scope(self) -> Scope | None:
        return self.scopes[-1] if self.scopes else None

    # -- definitions -----------------------------------------------------------------
    def visit_ClassDef(self, node: ast.ClassDef) -> ast.ClassDef:
        # a sync collection ABC (MutableMapping ...) means nothing to an async class
        node.bases = [
            b
            for b in node.bases
            if not self.module.names.get(
                dotted(b.value if isinstance(b, ast.Subscript) else b), ""
            ).startswith("collections.abc.")
        ]
        node.bases = [self.visit(b) for b in node.bases]
        body: list[ast.stmt] = []
        for item in node.body:
            if isinstance(item, ast.FunctionDef) and any(
                dotted(d) == "overload" for d in item.decorator_list
            ):
                continue  # the sync signatures; the async method has one
            new = self.visit(item)
            if new is not None:
                body.append(new)
        node.body = body or [ast.Pass()]
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.stmt | None:
        func = self.by_node.get(id(node))
        if func is None:
            return node
        owner = func.owner
        if owner and f"{self.module.name}.{owner.name}.{node.name}" in LEFT_OUT:
            return None
        self.scopes.append(Scope(self.graph, func))
        try:
            self.generic_visit(node)
        finally:
            self.scopes.pop()
        name = node.name
        if (func.io or func.returns_aiter) and func.owner and _is_dunder(name):
            new_name = async_dunder(func.owner.name, name)
            if new_name is None:
                return None
            node.name = new_name
            if name == "__iter__" and func.io and not is_generator(node):
                _yield_returned(node)  # return iter(await x) -> async generator
        if func.agen or func.returns_aiter:
            self._async_iterator_annotation(node)
        if any(dotted(d).endswith(".setter") for d in node.decorator_list) and func.io:
            node.decorator_list = []
            node.name = f"set_{name}"
        if not func.io:
            return node
        new = ast.AsyncFunctionDef(
            name=node.name,
            args=node.args,
            body=node.body,
            decorator_list=node.decorator_list,
            returns=node.returns,
            type_comment=None,
            type_params=getattr(node, "type_params", []),
        )
        return ast.copy_location(new, node)

    def _async_iterator_annotation(self, node: ast.FunctionDef) -> None:
        if node.returns is None:
            return
        for n in ast.walk(node.returns):
            if isinstance(n, ast.Name) and n.id in TYPING_ASYNC:
                n.id = TYPING_ASYNC[n.id]
                self.needs.add(n.id)
            elif isinstance(n, ast.Constant) and isinstance(n.value, str):
                for old, new in TYPING_ASYNC.items():
                    if n.value.startswith(old + "["):
                        n.value = new + n.value[len(old) :]
                        self.needs.add(new)

    # -- statements --------------------------------------------------------------------
    def visit_For(self, node: ast.For) -> ast.stmt:
        aiter = self.scope is not None and self.scope.is_aiter(node.iter)
        self.generic_visit(node)
        if not aiter:
            return node
        new = ast.AsyncFor(
            target=node.target,
            iter=self._strip_iter(node.iter),
            body=node.body,
            orelse=node.orelse,
            type_comment=None,
        )
        return ast.copy_location(new, node)

    def visit_With(self, node: ast.With) -> ast.stmt:
        io = self.scope is not None and any(
            self.scope.manager_io(i.context_expr) for i in node.items
        )
        self.generic_visit(node)
        if not io:
            return node
        guard = _type_guard(node)
        if guard is not None:
            return self._guarded(node, guard)
        new = ast.AsyncWith(items=node.items, body=node.body, type_comment=None)
        return ast.copy_location(new, node)

    def _guarded(self, node: ast.With, guard: ast.expr) -> ast.stmt:
        """``with x._guard: body`` as ``try: body`` / ``except ResponseError as
        _reply: await x._guard.reraise(_reply); raise``: free until an error
        reply comes, where ``async with`` would await two coroutines."""
        self.needs.add("ResponseError")
        reply = ast.Name("_reply", ast.Load())
        reraise = ast.Call(ast.Attribute(guard, "reraise", ast.Load()), [reply], [])
        handler = ast.ExceptHandler(
            ast.Name("ResponseError", ast.Load()),
            "_reply",
            [ast.Expr(ast.Await(reraise)), ast.Raise()],
        )
        return ast.copy_location(ast.Try(node.body, [handler], [], []), node)

    def visit_Expr(self, node: ast.Expr) -> ast.stmt:
        if isinstance(node.value, ast.YieldFrom) and self._in_agen():
            source = node.value.value
            aiter = self.scope is not None and self.scope.is_aiter(source)
            self.generic_visit(node)
            source = node.value.value  # type: ignore[attr-defined]
            item = ast.Name("_item", ast.Store())
            body: list[ast.stmt] = [ast.Expr(ast.Yield(ast.Name("_item", ast.Load())))]
            loop: ast.stmt
            if aiter:
                loop = ast.AsyncFor(item, self._strip_iter(source), body, [], None)
            else:
                loop = ast.For(item, source, body, [], None)
            return ast.copy_location(loop, node)
        self.generic_visit(node)
        return node

    def _in_agen(self) -> bool:
        return self.scope is not None and self.scope.func.agen

    # -- expressions -------------------------------------------------------------------
    def visit_comprehension(self, node: ast.comprehension) -> ast.comprehension:
        aiter = self.scope is not None and self.scope.is_aiter(node.iter)
        self.generic_visit(node)
        if aiter:
            node.is_async = 1
            node.iter = self._strip_iter(node.iter)
        return node

    def visit_Call(self, node: ast.Call) -> ast.expr:
        scope = self.scope
        if scope is None:
            self.generic_visit(node)
            return node
        name = dotted(node.func)
        if name == "iter" and len(node.args) == 1 and scope.is_aiter(node.args[0]):
            return self.visit(node.args[0])  # an async iterator already
        collects = name in ("list", "set", "sorted", "tuple", "dict")
        if collects and len(node.args) == 1 and scope.is_aiter(node.args[0]):
            return self._collect(name, node)
        if (
            name.endswith(".extend")
            and len(node.args) == 1
            and scope.is_aiter(node.args[0])
        ):
            node.args = [self._collect("list", ast.Call(node.func, node.args, []))]
            return node
        if name == "len" and scope.call_kind(node) == "await":
            sized = self.visit(node.args[0])
            call = ast.Call(ast.Attribute(sized, "length", ast.Load()), [], [])
            return ast.copy_location(ast.Await(call), node)
        kind = scope.call_kind(node)
        self.generic_visit(node)
        if kind == "await":
            return ast.copy_location(ast.Await(node), node)
        if name == "islice" and node.args and scope.is_aiter(node.args[0]):
            node.func = ast.Name("aislice", ast.Load())
            self.needs.add("aislice")
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.expr:
        if self.scope is None or not self.scope.contains_io(node):
            self.generic_visit(node)
            return node
        left, container = self.visit(node.left), self.visit(node.comparators[0])
        call = ast.Call(ast.Attribute(container, "contains", ast.Load()), [left], [])
        test: ast.expr = ast.Await(call)
        if isinstance(node.ops[0], ast.NotIn):
            test = ast.UnaryOp(ast.Not(), test)
        return ast.copy_location(test, node)

    def visit_Lambda(self, node: ast.Lambda) -> ast.expr:
        return node  # a lambda's I/O call gives a coroutine; its caller awaits it

    def visit_Attribute(self, node: ast.Attribute) -> ast.expr:
        scope = self.scope
        if dotted(node) == "time.sleep":
            self.needs.add("asyncio")
            return ast.copy_location(
                ast.Attribute(ast.Name("asyncio", ast.Load()), "sleep", ast.Load()),
                node,
            )
        runtime = RUNTIME_NAMES.get(dotted(node))
        if runtime is not None:  # threading.Event -> Event, threading.local -> ...
            self.needs.add(runtime)
            return ast.copy_location(ast.Name(runtime, ast.Load()), node)
        owner = None
        if scope is not None:
            owner = scope.type_of(node.value)
            if isinstance(node.value, ast.Call) and dotted(node.value.func) == "super":
                owner = scope._super_owner()
        self.generic_visit(node)
        if scope is None or not isinstance(node.ctx, ast.Load):
            return node
        target = scope.method(owner, node.attr)
        renamed = (
            async_dunder(target.owner.name, node.attr)
            if target is not None
            and (target.io or target.returns_aiter)
            and _is_dunder(node.attr)
            and target.owner is not None
            else None
        )
        if renamed:
            node.attr = renamed  # super().__iter__() -> super().__aiter__()
        if (
            target is not None
            and target.io
            and any(dotted(d) == "property" for d in target.node.decorator_list)
        ):
            return ast.copy_location(ast.Await(node), node)
        return node

    def _collect(self, name: str, node: ast.Call) -> ast.expr:
        source = self.visit(node.args[0])
        item = ast.Name("_item", ast.Load())
        gen = [ast.comprehension(ast.Name("_item", ast.Store()), source, [], 1)]
        comp: ast.expr
        if name == "set":
            comp = ast.SetComp(item, gen)
        elif name == "dict":
            key, value = ast.Name("_k", ast.Load()), ast.Name("_v", ast.Load())
            target = ast.Tuple(
                [ast.Name("_k", ast.Store()), ast.Name("_v", ast.Store())], ast.Store()
            )
            comp = ast.DictComp(key, value, [ast.comprehension(target, source, [], 1)])
        else:
            comp = ast.ListComp(item, gen)
            if name != "list":
                comp = ast.Call(ast.Name(name, ast.Load()), [comp], [])
        return ast.copy_location(comp, node)

    def _strip_iter(self, expr: ast.expr) -> ast.expr:
        if isinstance(expr, ast.Call) and dotted(expr.func) == "iter" and expr.args:
            return expr.args[0]
        return expr


CLASS_RENAMES = {"DatabaseAPI": "AsyncDatabaseAPI"}
HEADER = (
    "Async twin of :mod:`{sync}`, generated from ``{path}`` by "
    "``tools/generate_async.py``.\n\nDo not edit: change the sync source and "
    "run the script. The sync module's documentation applies."
)


def generate(graph: Graph, module: Module) -> str | None:
    """The source of ``module``'s async twin, or None if nothing converts."""
    converted = {
        name for name in module.defs if f"{module.name}.{name}" in graph.converted
    }
    reexports = any(
        f"{stmt.module}.{alias.name}" in graph.converted
        for stmt in module.tree.body
        if isinstance(stmt, ast.ImportFrom)
        for alias in stmt.names
    )
    if not converted and not reexports:
        return None
    transformer = Asyncify(graph, module)
    doc = HEADER.format(sync=module.name, path=module.path)
    body: list[ast.stmt] = [ast.Expr(ast.Constant(doc))]
    imports: list[ast.stmt] = []
    defs: list[ast.stmt] = []
    for stmt in module.tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            imports.extend(_rewrite_import(graph, stmt))
        elif isinstance(stmt, ast.If) and dotted(stmt.test) == "TYPE_CHECKING":
            stmt.body = [n for s in stmt.body for n in _rewrite_import(graph, s)]
            imports.append(stmt)
        elif isinstance(stmt, (ast.ClassDef, ast.FunctionDef)):
            if stmt.name in converted:
                defs.append(transformer.visit(stmt))
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            names = {t.id for t in targets if isinstance(t, ast.Name)}
            if names & converted or "__all__" in names:
                defs.append(stmt)
    # names of the sync module that converted code uses: imported, not copied
    used = _names(defs)
    shared = sorted(
        n
        for n in module.defs
        if n not in converted
        and not n.startswith("__")
        and (n in used or n in _all(module))
    )
    if shared:
        imports.append(
            ast.ImportFrom(module.name, [ast.alias(n) for n in shared], level=0)
        )
    extra: list[ast.stmt] = []
    if "ResponseError" in transformer.needs - _imported(imports):
        error = ast.alias("ResponseError")
        extra.append(ast.ImportFrom("redis.exceptions", [error], 0))
    if "asyncio" in transformer.needs:
        extra.append(ast.Import([ast.alias("asyncio")]))
    for name in ("AsyncIterator", "AsyncGenerator"):
        if name in transformer.needs:
            extra.append(ast.ImportFrom("collections.abc", [ast.alias(name)], 0))
    runtime = sorted(transformer.needs & {"aislice", *RUNTIME_NAMES.values()})
    if runtime:
        extra.append(
            ast.ImportFrom(
                "walrus.asyncio._runtime", [ast.alias(n) for n in runtime], 0
            )
        )
    future = [
        s for s in imports if isinstance(s, ast.ImportFrom) and s.module == "__future__"
    ]
    rest = [s for s in imports if s not in future]
    used = _names(defs) | _all(module) | {"TYPE_CHECKING"}
    if not converted:  # a package's re-exports: every import is the point
        used |= _imported(rest)
    body += future + extra + _prune(rest, used) + defs
    tree = ast.Module(body=body, type_ignores=[])
    _rename_classes(tree)
    ast.fix_missing_locations(tree)
    return ast.unparse(tree) + "\n"


def _type_guard(node: ast.With) -> ast.expr | None:
    """``x._guard`` of ``with x._guard:``, a container's error translation."""
    if len(node.items) == 1 and node.items[0].optional_vars is None:
        manager = node.items[0].context_expr
        if isinstance(manager, ast.Attribute) and manager.attr == "_guard":
            return manager
    return None


def _imported(imports: list[ast.stmt]) -> set[str]:
    """The names ``imports`` bind."""
    return {
        alias.asname or alias.name
        for stmt in imports
        if isinstance(stmt, ast.ImportFrom)
        for alias in stmt.names
    }


def _all(module: Module) -> set[str]:
    stmt = module.defs.get("__all__")
    if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.List):
        return {e.value for e in stmt.value.elts if isinstance(e, ast.Constant)}
    return set()


def _names(nodes: list[ast.stmt]) -> set[str]:
    """The names ``nodes`` use, in code or in string annotations (not docstrings)."""
    out: set[str] = set()
    docs = {
        id(n.body[0].value)
        for stmt in nodes
        for n in ast.walk(stmt)
        if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and n.body
        and isinstance(n.body[0], ast.Expr)
    }
    for stmt in nodes:
        for n in ast.walk(stmt):
            if isinstance(n, ast.Name):
                out.add(n.id)
            elif (
                isinstance(n, ast.Constant)
                and isinstance(n.value, str)
                and id(n) not in docs
            ):
                out.update(_words(n.value))
    return out


def _words(text: str) -> set[str]:
    word, out = [], set()
    for ch in text + " ":
        if ch.isalnum() or ch == "_":
            word.append(ch)
        elif word:
            out.add("".join(word))
            word = []
    return out


def _prune(imports: list[ast.stmt], used: set[str]) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for stmt in imports:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            keep = [a for a in stmt.names if (a.asname or a.name).split(".")[0] in used]
            if keep:
                stmt.names = keep
                out.append(stmt)
        elif isinstance(stmt, ast.If):
            inner = _prune(stmt.body, used)
            if inner:
                stmt.body = inner
                out.append(stmt)
        else:
            out.append(stmt)
    return out


def _rewrite_import(graph: Graph, stmt: ast.stmt) -> list[ast.stmt]:
    """``stmt`` with the converted names imported from their async twins."""
    if not isinstance(stmt, ast.ImportFrom) or not stmt.module:
        return [stmt]
    sync = [a for a in stmt.names if f"{stmt.module}.{a.name}" not in graph.converted]
    moved = [a for a in stmt.names if f"{stmt.module}.{a.name}" in graph.converted]
    if not moved:
        return [stmt]
    out: list[ast.stmt] = [ast.ImportFrom(stmt.module, sync, 0)] if sync else []
    return [*out, ast.ImportFrom(graph.modules[stmt.module].target, moved, 0)]


def _rename_classes(tree: ast.Module) -> None:
    for n in ast.walk(tree):
        if isinstance(n, ast.Name) and n.id in CLASS_RENAMES:
            n.id = CLASS_RENAMES[n.id]
        elif isinstance(n, (ast.ClassDef, ast.alias)) and n.name in CLASS_RENAMES:
            n.name = CLASS_RENAMES[n.name]


def outputs() -> dict[Path, str]:
    """Every generated file and its text."""
    graph = Graph(SOURCES)
    out: dict[Path, str] = {}
    for module in graph.modules.values():
        text = generate(graph, module)
        if text is not None:
            rel = module.target.replace(".", "/")
            is_pkg = module.path.endswith("__init__.py")
            out[ROOT / (rel + ("/__init__.py" if is_pkg else ".py"))] = text
    for path in list(out):  # packages on the way to a generated module
        parent = path.parent
        while parent != ROOT / "walrus/asyncio":
            init = parent / "__init__.py"
            out.setdefault(
                init, '"""Generated package (see tools/generate_async.py)."""\n'
            )
            parent = parent.parent
    return out


def _formatted(text: str) -> str:
    """``text`` through ``ruff format`` when it is installed (for readers of
    the generated files; the check compares syntax trees, not text)."""
    ruff = shutil.which("ruff")
    if ruff is None:
        return text
    done = subprocess.run(
        [ruff, "format", "--stdin-filename", "generated.py", "-"],
        input=text,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout if done.returncode == 0 else text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if stale")
    options = parser.parse_args(argv)
    stale = []
    for path, text in outputs().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current is None or ast.dump(ast.parse(current)) != ast.dump(ast.parse(text)):
            stale.append(path)
            if not options.check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(_formatted(text), encoding="utf-8")
    for path in stale:
        print(("stale: " if options.check else "wrote ") + str(path.relative_to(ROOT)))
    return 1 if stale and options.check else 0


if __name__ == "__main__":
    sys.exit(main())
