"""The run-directory contract is named in one module: no other module spells its files or
environment variables, so renaming one is a one-line change that nothing can miss."""

from __future__ import annotations

import ast
from pathlib import Path

import cnnlab
from cnnlab.runs import layout

SOURCE = Path(cnnlab.__file__).parent
CONTRACT = [
    value.name if isinstance(value, Path) else value
    for name, value in vars(layout).items()
    if name.isupper() and isinstance(value, str | Path)
]
# names too common to grep for: other libraries' folders share them (torch hub's checkpoints/)
TOO_COMMON = {layout.CHECKPOINT_DIR, layout.SUMMARY_NAME, layout.DEFAULT_LOG_DIR}


def string_literals(tree: ast.AST) -> list[ast.Constant]:
    """Every string constant except docstrings (which may describe the layout in prose)."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_the_contract_names_what_the_readme_documents() -> None:
    assert {"metrics.json", "environment.json", "status.json", "train.log", "last.ckpt"} <= set(
        CONTRACT
    )
    assert "CNNLAB_LOG_DIR" in CONTRACT and "CNNLAB_RUN_DIR" in CONTRACT


def test_no_other_module_spells_a_run_dir_file_or_environment_variable() -> None:
    spelled = []
    for path in SOURCE.rglob("*.py"):
        if path == Path(layout.__file__):
            continue
        for node in string_literals(ast.parse(path.read_text())):
            for name in set(CONTRACT) - TOO_COMMON:
                if name in node.value:
                    spelled.append(f"{path.relative_to(SOURCE)}:{node.lineno} {name!r}")
    assert not spelled, "use cnnlab.runs.layout instead of:\n" + "\n".join(sorted(spelled))
