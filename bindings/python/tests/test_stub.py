"""The type stub (llmkit/__init__.pyi) against the compiled module, so editors and type checkers
see what the module really takes:

- mypy's stubtest (Debian's mypy package) finds names missing on either side, attributes whose
  kind differs, and classes; its allowlist holds only what it cannot be told about pybind11.
- stubtest cannot read pybind11 signatures, so every function and method of the stub is also
  compared here with the signature pybind11 writes at the head of its docstring: the same
  parameters in the same order, the same keyword-only ones, the same ones with defaults.
"""

import ast
import inspect
import pathlib
import re
import subprocess
import sys

import pytest

import llmkit
from conftest import SOURCE_DIR

STUB = SOURCE_DIR / "bindings" / "python" / "llmkit" / "__init__.pyi"
ALLOWLIST = SOURCE_DIR / "bindings" / "python" / "stubtest-allowlist.txt"


def test_stubtest_finds_nothing():
    try:
        import mypy.stubtest  # noqa: F401
    except ImportError:
        pytest.fail("mypy is missing: scripts/install-deps.sh installs Debian's mypy package")
    package_dir = pathlib.Path(llmkit.__file__).parent.parent
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "llmkit", "--allowlist", str(ALLOWLIST)],
        cwd=package_dir, capture_output=True, text=True, timeout=600,
        env={"PYTHONPATH": str(package_dir), "PATH": "/usr/bin:/bin", "HOME": "/tmp"})
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def split_top_level(text):
    """Splits a parameter list on the commas outside brackets and quotes."""
    parts, depth, quote, start = [], 0, None, 0
    for i, c in enumerate(text):
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c in "([{<":
            depth += 1
        elif c in ")]}>":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    if text[start:].strip():
        parts.append(text[start:].strip())
    return parts


def runtime_signatures(name, obj):
    """Each signature pybind11 documents for `obj`: a list of (param, kind, has_default)."""
    doc = obj.__doc__ or ""
    found = []
    for match in re.finditer(rf"^(?:\d+\. )?{re.escape(name)}\((.*)\) -> ", doc, re.M):
        params, keyword_only = [], False
        for part in split_top_level(match.group(1)):
            if part == "*":
                keyword_only = True
                continue
            if part.startswith("**"):
                params.append((part[2:].split(":")[0], "kwargs", False))
                continue
            if part.startswith("*"):
                params.append((part[1:].split(":")[0], "args", False))
                keyword_only = True
                continue
            pname = part.split(":")[0].split("=")[0].strip()
            params.append((pname, "kw" if keyword_only else "pos", "=" in part))
        found.append(params)
    return found


def stub_signature(node):
    a = node.args
    params = []
    positional = a.posonlyargs + a.args
    first_default = len(positional) - len(a.defaults)
    for i, arg in enumerate(positional):
        params.append((arg.arg, "pos", i >= first_default))
    if a.vararg:
        params.append((a.vararg.arg, "args", False))
    for arg, default in zip(a.kwonlyargs, a.kw_defaults):
        params.append((arg.arg, "kw", default is not None))
    if a.kwarg:
        params.append((a.kwarg.arg, "kwargs", False))
    return params


def stub_functions():
    tree = ast.parse(STUB.read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            yield node.name, None, node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and not any(
                        isinstance(d, ast.Name) and d.id in {"property", "staticmethod"}
                        for d in item.decorator_list):
                    yield item.name, node.name, item


@pytest.mark.parametrize("name,owner,node",
                         [pytest.param(*f, id=f"{f[1]}.{f[0]}" if f[1] else f[0])
                          for f in stub_functions()])
def test_stub_signature_matches_the_module(name, owner, node):
    # The stub's private bases stand for what the module's classes share.
    owner = {"_ChatClient": "OpenAIClient"}.get(owner, owner)
    holder = getattr(llmkit, owner) if owner else llmkit
    obj = getattr(holder, name, None)
    assert obj is not None, f"{owner}.{name} is in the stub but not in the module"
    expected = stub_signature(node)
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        signature = None
    if signature is not None and not (obj.__doc__ or "").startswith(name + "("):
        return  # A pure-Python function: stubtest compares its signature.
    documented = runtime_signatures(name, obj)
    if not documented and name in {"__iter__", "__next__", "__len__", "__contains__", "__enter__",
                                   "__exit__", "__repr__", "__getitem__"}:
        return
    assert documented, f"{owner}.{name}: pybind11 documents no signature"
    assert expected in documented, (
        f"{owner or 'llmkit'}.{name}: stub {expected} differs from the module {documented}")
