"""The Hypothesis settings of the fuzz suite: bounded and reproducible by default, longer on request.

* `JANGAR_FUZZ_EXAMPLES`: requests per endpoint and transport (default 20).
* `JANGAR_FUZZ_SHRINK=1`: stop at a failing request and let Hypothesis shrink it to a minimal one (each
  kind of failure separately); slower. By default every request is sent and the failures are collected
  (tests/fuzz/findings.py).

Runs are derandomized and keep no example database, so a failure in CI is the same failure on a laptop; a
longer run explores further because it draws more examples from the same seed."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

DEFAULT_EXAMPLES = 20


def examples() -> int:
    raw = os.environ.get("JANGAR_FUZZ_EXAMPLES", "")
    return int(raw) if raw else DEFAULT_EXAMPLES


def shrinking() -> bool:
    return os.environ.get("JANGAR_FUZZ_SHRINK", "") not in ("", "0")


FUZZ = settings(
    max_examples=examples(),
    # The server and Envoy share 2 cores with other test runs: no per-example time limit.
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink]
    if shrinking()
    else [Phase.explicit, Phase.generate],
    # Big hostile bodies (long strings, thousands of map keys) are the point, and so are slow examples.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    print_blob=False,
)
