"""The package stays readable and keeps its rules: checked on the source, so they cannot drift.

- Modules of at most ~400 lines, functions of at most 60.
- Only ``tweetsent.rundir`` spells the names of a run directory's files.
- Only ``tweetsent.fileio`` renames files (its writer and lock are the one way to write).
- An own module is imported at the top of a module, or inside a function with a comment
  saying why (a heavy import kept off the command line's start, an optional extra).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "tweetsent"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
# "module.py:function": its length when this list was written. Remove entries as they shrink.
LONG_FUNCTIONS: dict[str, int] = {}
LONG_MODULES: dict[str, int] = {}

# What a run directory holds (tweetsent.rundir's names): a path join of one of these anywhere
# else would be a second place that knows the layout.
RUN_NAMES = {
    "model",
    "config.json",
    "metrics.json",
    "inputs.json",
    "report.md",
    "README.md",
    "onnx",
    "openvino",
    "checkpoints",
    "members",
    "train_loss.png",
    "validation.png",
    "learning_rate.png",
    "confusion_matrix.png",
    "reliability.png",
}
RENAMES = {"rename", "replace", "move"}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        yield str(path.relative_to(PACKAGE)), source, ast.parse(source)


def _sizes():
    modules, functions = {}, {}
    for name, source, tree in _modules():
        modules[name] = source.count("\n") + 1
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                functions[f"{name}:{node.name}"] = node.end_lineno - node.lineno + 1
    return modules, functions


def test_modules_stay_small():
    modules, _ = _sizes()
    for name, lines in modules.items():
        assert lines <= max(MAX_MODULE_LINES, LONG_MODULES.get(name, 0)), (name, lines)


def test_functions_stay_small_and_long_ones_only_shrink():
    _, functions = _sizes()
    for name, lines in functions.items():
        assert lines <= max(MAX_FUNCTION_LINES, LONG_FUNCTIONS.get(name, 0)), (name, lines)


def run_file_joins(tree: ast.AST) -> list[int]:
    """Lines where a path is joined with a run file's name (``x / "metrics.json"``)."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Div)
        and isinstance(node.right, ast.Constant)
        and node.right.value in RUN_NAMES
    ]


def renames(tree: ast.AST) -> list[int]:
    """Lines that rename a file: ``os.replace/rename``, ``shutil.move``, ``Path.rename/replace``
    (one positional argument: ``str.replace`` has two, ``DataFrame.rename`` takes keywords)."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        owner = node.func.value
        module = owner.id if isinstance(owner, ast.Name) else None
        if module == "dataclasses":  # dataclasses.replace(obj): a copy, not a file
            continue
        if node.func.attr in RENAMES and (
            module in ("os", "shutil") or (len(node.args) == 1 and not node.keywords)
        ):
            found.append(node.lineno)
    return found


def uncommented_own_imports(source: str, tree: ast.AST) -> list[int]:
    lines = source.splitlines()
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            own = isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tweetsent")
            own = own or (
                isinstance(node, ast.Import)
                and any(a.name.startswith("tweetsent") for a in node.names)
            )
            if own and "#" not in lines[node.lineno - 1] and "#" not in lines[node.lineno - 2]:
                found.append(node.lineno)
    return found


def test_only_rundir_spells_a_run_files_name():
    offenders = {
        name: lines
        for name, _, tree in _modules()
        if name != "rundir.py" and (lines := run_file_joins(tree))
    }
    assert offenders == {}


def test_only_the_writer_renames_files():
    offenders = {
        name: lines
        for name, _, tree in _modules()
        if name != "fileio.py" and (lines := renames(tree))
    }
    assert offenders == {}


def test_own_modules_are_imported_at_the_top_or_say_why_not():
    offenders = {
        name: lines
        for name, source, tree in _modules()
        if (lines := uncommented_own_imports(source, tree))
    }
    assert offenders == {}


def test_the_checks_find_what_they_look_for():
    # Each rule's detector on a line that breaks it, so a detector that finds nothing fails.
    bad = ast.parse(
        "def f(run, tmp):\n"
        "    from tweetsent import fileio\n"
        "    tmp.replace(run / 'metrics.json')\n"
    )
    source = ast.unparse(bad)
    assert run_file_joins(bad) == [3]
    assert renames(bad) == [3]
    assert uncommented_own_imports(source, bad) == [2]
    fine = ast.parse("def f(t, df):\n    return t.replace('a', 'b'), df.rename(columns=str)\n")
    assert renames(fine) == []


def namespace_uses(tree: ast.AST) -> list[int]:
    """Lines that read argparse's Namespace (``args``) other than to build the options."""
    built = {
        id(node.args[0])
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "from_args"
        and node.args
    }
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Name)
        and node.id == "args"
        and id(node) not in built
        and isinstance(node.ctx, ast.Load)
    ]


def test_each_command_reads_the_namespace_once_into_typed_options():
    # cli/__init__.py parses and dispatches: the Namespace is its to read.
    offenders = {
        name: lines
        for name, _, tree in _modules()
        if name.startswith("cli/") and name != "cli/__init__.py" and (lines := namespace_uses(tree))
    }
    assert offenders == {}
