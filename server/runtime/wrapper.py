"""`python -m jangar.server.runtime.wrapper <attempt dir>`: runs one local attempt's process and records how
it ended.

The local runtime starts this wrapper in a session of its own, so it outlives a server restart and the
server can stop the whole process group. It starts the command from `launch.json` with its output in
`output.log`, waits, and writes `exit.json` ({"exitCode": n}) atomically, which is how a server (the same
or a restarted one) learns the outcome of a process that is not its child.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    directory = Path(argv[1])
    launch = json.loads((directory / "launch.json").read_text())
    with open(directory / "output.log", "ab", buffering=0) as output:
        try:
            child = subprocess.Popen(
                launch["argv"],
                cwd=launch["cwd"],
                env=launch["env"],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
            code = child.wait()
        except OSError as error:
            output.write(f"jangar: cannot start {launch['argv'][0]!r}: {error.strerror}\n".encode())
            code = 127
    # A process killed by a signal reports -signal; shells report 128 + signal, which runners expect.
    exit_code = code if code >= 0 else 128 - code
    partial = directory / "exit.json.partial"
    partial.write_text(json.dumps({"exitCode": exit_code}))
    os.replace(partial, directory / "exit.json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
