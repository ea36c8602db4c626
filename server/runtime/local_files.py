"""The files the local runtime keeps for Workspaces and Artifacts under its state directory
(docs/storage.md):

* `<state dir>/workspaces/<workspace id>/`: a Workspace's directory, the working directory of the runs that
  name it;
* `<state dir>/artifacts/<run id>/<attempt>/<path>`: a copy of each artifact file an attempt left in its
  working directory, taken when the attempt ends, so the artifact outlives the working directory (and a
  shared Workspace's later runs). Its URI is `file://` + the copy's absolute path.
"""

from __future__ import annotations

import hashlib
import mimetypes
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

from jangar.server.core.runtime import StoredFile

CHUNK_BYTES = 1024 * 1024
DEFAULT_MEDIA_TYPE = "application/octet-stream"


class LocalFiles:
    def __init__(self, state_dir: Path) -> None:
        self._workspaces = state_dir / "workspaces"
        self._artifacts = state_dir / "artifacts"

    def workspace_dir(self, workspace_id: str) -> Path:
        return self._workspaces / workspace_id

    def remove_workspace(self, workspace_id: str) -> None:
        shutil.rmtree(self.workspace_dir(workspace_id), ignore_errors=True)

    def keep(self, run_id: str, attempt: int, work: Path, relative: str) -> StoredFile | None:
        """Copies `relative` (a file inside `work`) to the artifact store and describes the copy; None when
        it is not a regular file inside `work`. Copying again (an attempt observed twice) replaces the copy
        with the same content."""
        source = (work / relative).resolve()
        if not source.is_relative_to(work.resolve()) or not source.is_file():
            return None
        target = self._artifacts / run_id / str(attempt) / source.relative_to(work.resolve())
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        partial = target.with_name(target.name + ".partial")
        with open(source, "rb") as reader, open(partial, "wb") as writer:
            while chunk := reader.read(CHUNK_BYTES):
                digest.update(chunk)
                writer.write(chunk)
                size += len(chunk)
        partial.replace(target)
        media_type = mimetypes.guess_type(source.name)[0] or DEFAULT_MEDIA_TYPE
        return StoredFile(target.as_uri(), f"sha256:{digest.hexdigest()}", size, media_type)

    def remove_artifact(self, uri: str) -> bool:
        parts = urlsplit(uri)
        if parts.scheme != "file":
            return False
        path = Path(unquote(parts.path)).resolve()
        if not path.is_relative_to(self._artifacts.resolve()):
            return False  # not a copy this runtime made: someone else's file
        path.unlink(missing_ok=True)
        return True
