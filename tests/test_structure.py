"""The package stays readable: modules of at most ~400 lines, functions of at most ~60.

The functions still over the limit are listed with their size today, so none may grow and no
new one may join them; each entry is debt to pay by splitting the function into named steps.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "tweetsent"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
# "module.py:function": its length when this list was written. Remove entries as they shrink.
LONG_FUNCTIONS = {
    "serving/app.py:create_app": 99,
    "benchmarks/train.py:bench_train": 102,
    "benchmarks/predict.py:bench_predict": 62,
    "benchmarks/train.py:_reference_loop": 92,
    "training/tuning.py:_search": 64,
    "benchmarks/train.py:_reference_trainer": 68,
}
LONG_MODULES: dict[str, int] = {}


def _sizes():
    modules, functions = {}, {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = str(path.relative_to(PACKAGE))
        source = path.read_text(encoding="utf-8")
        modules[name] = source.count("\n") + 1
        for node in ast.walk(ast.parse(source)):
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
