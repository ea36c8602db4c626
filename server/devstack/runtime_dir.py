"""The shared runtime directory (/var/tmp/jangar): where a root launcher puts what Postgres needs when the
unprivileged user it runs as cannot reach the checkout.

It sits in a world-writable directory, so anyone could have created it first, or a symlink in its place, to
read or swap what root puts there. It is therefore used only when it is a real directory owned by root that
no one else may write to; it is created mode 0711, so other users can reach a known name inside it but can
list nothing. /var/tmp rather than /tmp: it survives reboots, and the relocated data must too.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path

from jangar.server.devstack.runas import RunAs

DEFAULT_RUNTIME_DIR = Path("/var/tmp/jangar")
RUNTIME_DIR_ENV = "JANGAR_PG_RUNTIME_DIR"
_MODE = 0o711


class RuntimeDirError(RuntimeError):
    """The runtime directory is unsafe or unusable."""


def runtime_dir(env: Mapping[str, str]) -> Path:
    """The configured runtime directory: its parents resolved, itself not (it is checked with lstat)."""
    raw = Path(env.get(RUNTIME_DIR_ENV) or DEFAULT_RUNTIME_DIR)
    if not raw.is_absolute():
        raise RuntimeDirError(f"{RUNTIME_DIR_ENV} must be an absolute path, got {str(raw)!r}")
    return raw.parent.resolve() / raw.name


def ensure(base: Path, run_as: RunAs) -> Path:
    """Creates base (mode 0711, root's) when missing; refuses it when it is not safe or run_as cannot
    traverse it. Returns base."""
    base.parent.mkdir(parents=True, exist_ok=True)
    try:
        base.mkdir(mode=_MODE)
        # mkdir's mode is filtered by the umask.
        os.chmod(base, _MODE)
    except FileExistsError:
        pass
    check_safe(base)
    if not run_as.can("-x", base):
        raise RuntimeDirError(
            f"user '{run_as.name}' cannot traverse {base} (a parent directory is not searchable by it); "
            f"set {RUNTIME_DIR_ENV} to a directory whose parents every user can traverse"
        )
    return base


def check_safe(base: Path) -> None:
    """Raises unless base is a real directory (not a symlink) owned by root and writable only by root."""
    st = os.lstat(base)
    problem = None
    if not stat.S_ISDIR(st.st_mode):
        problem = "is not a directory (a symlink or a file)"
    elif st.st_uid != 0:
        problem = f"is owned by uid {st.st_uid}, not root"
    elif st.st_mode & 0o022:
        problem = f"is writable by group or others (mode {stat.S_IMODE(st.st_mode):o})"
    if problem is not None:
        raise RuntimeDirError(
            f"refusing to use {base}: it {problem}, so another user could have planted it. Remove it, or "
            f"set {RUNTIME_DIR_ENV} to another path"
        )


def is_entry(base: Path, path: Path, pattern: str) -> bool:
    """True when path is a real directory directly inside base whose name matches pattern (a regex).

    Guards every deletion: a pointer file in the checkout is writable by whoever owns the checkout.
    """
    if path.parent != base or not re.fullmatch(pattern, path.name):
        return False
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False
