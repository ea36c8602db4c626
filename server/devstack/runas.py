"""The unprivileged user Postgres runs as when the launcher is root, and what that user can reach.

Postgres refuses to run as root, so a root launcher runs initdb and postgres as an existing unprivileged user
(`nobody`, or JANGAR_PG_RUN_AS). Whether that user can reach a path is asked of the kernel, by running a
command as the user, rather than worked out from mode bits: ACLs, supplementary groups, mount options and
security modules all take part, and only the kernel knows their sum.
"""

from __future__ import annotations

import os
import pwd
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_RUN_AS = "nobody"
RUN_AS_ENV = "JANGAR_PG_RUN_AS"
# coreutils' test(1), not the shell builtin: the check must be an exec as the user.
_TEST = "/usr/bin/test" if os.path.exists("/usr/bin/test") else "/bin/test"
_CHECK_TIMEOUT_S = 30.0


class RunAsError(RuntimeError):
    """The configured run-as user does not exist."""


@dataclass(frozen=True)
class RunAs:
    """An unprivileged user with its own groups (not root's: a child keeps root's supplementary groups
    unless they are replaced, and would then reach what only group root may)."""

    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RunAs | None:
        """The user Postgres runs as: None (the current user) unless the launcher is root."""
        if os.geteuid() != 0:
            return None
        return cls.named(env.get(RUN_AS_ENV) or DEFAULT_RUN_AS)

    @classmethod
    def named(cls, name: str) -> RunAs:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise RunAsError(
                f"user '{name}' does not exist; as root, Postgres must run as an unprivileged user: "
                f"set {RUN_AS_ENV} to one that exists"
            ) from None
        groups = tuple(os.getgrouplist(entry.pw_name, entry.pw_gid))
        return cls(entry.pw_name, entry.pw_uid, entry.pw_gid, groups)

    def subprocess_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for subprocess (and processes.spawn) that run a child as this user.

        The working directory is `/`: the launcher's may be one this user cannot enter.
        """
        return {"user": self.uid, "group": self.gid, "extra_groups": list(self.groups), "cwd": Path("/")}

    def can(self, flag: str, path: Path) -> bool:
        """`test <flag> <path>` as this user: e.g. "-x" on a directory means it can be traversed, with
        every parent on the way."""
        return self.run([_TEST, flag, os.fspath(path)]) is None

    def run(self, args: Sequence[str | os.PathLike[str]]) -> str | None:
        """Runs a command as this user; None when it succeeded, else what went wrong."""
        try:
            result = subprocess.run(
                [os.fspath(a) for a in args],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"},
                timeout=_CHECK_TIMEOUT_S,
                check=False,
                **self.subprocess_kwargs(),
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            # Exec failures (EACCES on a parent directory, say) surface here, in the parent.
            return str(error)
        if result.returncode != 0:
            return (result.stderr or result.stdout).strip() or f"exit code {result.returncode}"
        return None
