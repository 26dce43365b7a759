"""minrepro's statement reader, run in the case's own interpreter: for each module named on
standard input, whether its file is the case's own code (not the standard library, not an
installed package) and, if so, its statements as Python's own parser sees them.

Input (stdin, JSON): [[module name, file], ...]. Output (stdout, JSON): one entry per
module with "own", "error" and "statements". Each statement has its byte span in the file
(decorators included, so that replacing the span with `pass` leaves valid Python), its
first and last line, the statement it sits in ("parent"), the modules it imports (resolved
to absolute names, relative imports included) and "fixed" for statements that cannot be
replaced by `pass` (`from __future__` imports and the docstring before them).
"""
import ast
import itertools
import json
import os
import site
import sys
import sysconfig


def installed_roots():
    roots = set()
    for name in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(name)
        if path:
            roots.add(os.path.realpath(path))
    try:
        roots.update(os.path.realpath(p) for p in site.getsitepackages())
    except Exception:
        pass
    try:
        roots.add(os.path.realpath(site.getusersitepackages()))
    except Exception:
        pass
    return roots


def is_own(path, roots):
    real = os.path.realpath(path)
    parts = real.split(os.sep)
    if "site-packages" in parts or "dist-packages" in parts:
        return False
    return not any(real == root or real.startswith(root + os.sep) for root in roots)


def line_starts(data):
    """Byte offset of each line's start, lines ending as Python's tokenizer ends them."""
    starts, offset = [0], 0
    for line in data.splitlines(keepends=True):
        offset += len(line)
        starts.append(offset)
    return starts


def package_of(module, path):
    return module if os.path.basename(path) == "__init__.py" else module.rpartition(".")[0]


def imported_modules(node, package):
    """The absolute names a statement may import: `from a import b` may import a.b."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = package.split(".") if package else []
        if node.level > 1:
            base = base[: len(base) - node.level + 1]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
    names = [prefix] if prefix else []
    names += [prefix + "." + alias.name if prefix else alias.name for alias in node.names if alias.name != "*"]
    return names


def is_elif(node, data, starts):
    return isinstance(node, ast.If) and data[starts[node.lineno - 1] + node.col_offset:].startswith(b"elif")


def blocks(node, data, starts):
    """The blocks of statements directly inside a compound statement (its body, `else:`,
    each `except:`...); an `elif` belongs to its `if`."""
    found = []
    for field in ("body", "orelse", "finalbody"):
        block = getattr(node, field, None) or []
        if field == "orelse" and len(block) == 1 and is_elif(block[0], data, starts):
            found += blocks(block[0], data, starts)
        elif block:
            found.append(block)
    for holder in list(getattr(node, "handlers", None) or []) + list(getattr(node, "cases", None) or []):
        found.append(holder.body)
    return found


SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def own_nodes(node, children):
    """The nodes of a statement that are not in the statements it holds."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(child for child in ast.iter_child_nodes(current) if id(child) not in children)


def names_of(node, children):
    """The names a statement binds and reads itself (not in the statements it holds). A
    name bound in a comprehension counts as bound: too many is safe, since every statement
    kept for a name is tried without it afterwards."""
    defines, uses = set(), set()
    if isinstance(node, SCOPES):
        defines.add(node.name)
    for part in own_nodes(node, children):
        if isinstance(part, ast.Name):
            (uses if isinstance(part.ctx, ast.Load) else defines).add(part.id)
        elif isinstance(part, ast.alias) and isinstance(node, (ast.Import, ast.ImportFrom)):
            if part.name != "*":
                defines.add(part.asname or part.name.split(".")[0])
        elif isinstance(part, ast.ExceptHandler) and part.name:
            defines.add(part.name)
        elif isinstance(part, (ast.Global, ast.Nonlocal)):
            uses.update(part.names)
    return sorted(defines), sorted(uses)


def read(module, path, roots):
    if not path or not path.endswith(".py") or not os.path.isfile(path):
        return {"own": False, "error": "no Python source file", "statements": []}
    if not is_own(path, roots):
        return {"own": False, "error": None, "statements": []}
    with open(path, "rb") as source:
        data = source.read()
    try:
        text = data.decode("utf-8")
        tree = ast.parse(text, filename=path)
    except (UnicodeDecodeError, SyntaxError, ValueError) as exc:
        return {"own": True, "error": "%s: %s" % (type(exc).__name__, exc), "statements": []}
    starts = line_starts(data)
    package = package_of(module, path)
    statements = []
    future_seen = any(isinstance(n, ast.ImportFrom) and n.module == "__future__" for n in tree.body)

    def visit(nodes, parent):
        block_number = next(block_numbers)
        for node in nodes:
            first_line, first_col = node.lineno, node.col_offset
            for decorator in getattr(node, "decorator_list", None) or []:
                if decorator.lineno < first_line:
                    first_line, first_col = decorator.lineno, node.col_offset
            fixed = isinstance(node, ast.ImportFrom) and node.module == "__future__"
            # The docstring before a __future__ import: `pass` there would be a SyntaxError.
            if parent is None and future_seen and node is tree.body[0] and isinstance(node, ast.Expr) \
                    and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                fixed = True
            entry = {
                "id": len(statements),
                "parent": parent,
                "block": block_number,
                "kind": type(node).__name__,
                "start": starts[first_line - 1] + first_col,
                "end": starts[node.end_lineno - 1] + node.end_col_offset,
                "line": first_line,
                "end_line": node.end_lineno,
                "fixed": fixed,
                "imports": imported_modules(node, package) if isinstance(node, (ast.Import, ast.ImportFrom)) else [],
            }
            inner = blocks(node, data, starts)
            entry["defines"], entry["uses"] = names_of(node, {id(child) for block in inner for child in block})
            # Names bound in its body are another scope's (a function's locals, a class's
            # attributes), not the module's.
            entry["scope"] = isinstance(node, SCOPES)
            statements.append(entry)
            for inner_block in inner:
                visit(inner_block, entry["id"])

    block_numbers = itertools.count()
    visit(tree.body, None)
    return {"own": True, "error": None, "statements": statements}


def main():
    roots = installed_roots()
    out = []
    for module, path in json.load(sys.stdin):
        try:
            out.append(read(module, path, roots))
        except Exception as exc:  # one odd file must not hide the others
            out.append({"own": False, "error": "%s: %s" % (type(exc).__name__, exc), "statements": []})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
