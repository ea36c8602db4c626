"""The import contracts of pyproject.toml ([tool.importlinter]) hold: api -> domain -> repository -> core,
SQL only in the repository, gRPC only in the api, and no product code imports the tests."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.support import PROJECT_ROOT


def test_import_contracts_are_kept():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def _imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_no_product_folder_imports_the_tests():
    """The import contract covers jangar.server; this also covers product folders it does not know yet
    (reconciler/), so the fake Kubernetes API server in tests/fakekube can never become product code."""
    offenders = [
        f"{path.relative_to(PROJECT_ROOT)} imports {name}"
        for folder in ("server", "reconciler", "migrations")
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py"))
        for name in _imports_of(path)
        if name == "tests" or name.startswith("tests.")
    ]
    assert offenders == []
