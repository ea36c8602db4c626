"""The import contracts of pyproject.toml ([tool.importlinter]) hold: api -> domain -> repository -> core,
SQL only in the repository, gRPC only in the api."""

from __future__ import annotations

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
