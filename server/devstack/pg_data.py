"""A Postgres data dir moved into the runtime directory, for a run-as user who cannot reach the one asked for.

The relocated dir is named after the resolved path of the requested one, so the same checkout finds the
same data on every run, and different checkouts never share. A pointer file next to the requested dir
(`data.location` beside `data`) names it, for people and tools looking in the checkout.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from pathlib import Path

from jangar.server.devstack import runtime_dir
from jangar.server.devstack.runas import RunAs

_NAME_PATTERN = r"data-[0-9a-f]{16}"


def relocated_dir(base: Path, data_dir: Path) -> Path:
    """Where the data asked for at data_dir lives when it is relocated under base."""
    digest = hashlib.sha256(os.fspath(data_dir.resolve()).encode()).hexdigest()[:16]
    return base / f"data-{digest}"


def pointer_file(data_dir: Path) -> Path:
    return data_dir.with_name(data_dir.name + ".location")


def is_relocated(base: Path, data_dir: Path) -> bool:
    """True when data_dir's data already lives under base (an earlier run relocated it): keep using it."""
    try:
        runtime_dir.check_safe(base)
    except (runtime_dir.RuntimeDirError, FileNotFoundError):
        # Someone else's directory at that name must not stop a launcher that does not need it.
        return False
    return runtime_dir.is_entry(base, relocated_dir(base, data_dir), _NAME_PATTERN)


def relocate(base: Path, data_dir: Path, run_as: RunAs) -> Path:
    """Creates (or reuses) the relocated dir, owned by run_as and mode 0700, and writes the pointer file."""
    target = relocated_dir(base, data_dir)
    with contextlib.suppress(FileExistsError):
        target.mkdir(mode=0o700)
    if not runtime_dir.is_entry(base, target, _NAME_PATTERN):
        raise runtime_dir.RuntimeDirError(f"{target} is not a directory")
    os.chown(target, run_as.uid, run_as.gid)
    os.chmod(target, 0o700)
    pointer = pointer_file(data_dir)
    if not pointer.exists() or pointer.read_text().strip() != os.fspath(target):
        pointer.write_text(f"{target}\n")
    return target


def candidates(base: Path, data_dir: Path) -> list[Path]:
    """Relocated dirs that hold data_dir's data: the one its path names, and the one its pointer file names
    when that is a data dir under base too (it was written with another JANGAR_STATE_DIR spelling, say)."""
    found = [relocated_dir(base, data_dir)]
    with contextlib.suppress(OSError, ValueError):
        named = Path(pointer_file(data_dir).read_text().strip())
        if named not in found:
            found.append(named)
    return [path for path in found if runtime_dir.is_entry(base, path, _NAME_PATTERN)]


def remove(base: Path, data_dir: Path) -> list[Path]:
    """Deletes data_dir's relocated data and its pointer file; returns what was deleted.

    Only directories directly under a runtime dir that passes the safety check are deleted.
    """
    removed = []
    if os.path.lexists(base):
        runtime_dir.check_safe(base)
        for path in candidates(base, data_dir):
            shutil.rmtree(path)
            removed.append(path)
    with contextlib.suppress(FileNotFoundError):
        pointer_file(data_dir).unlink()
    return removed
