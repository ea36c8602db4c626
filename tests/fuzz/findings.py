"""Every broken promise of one fuzz run, by class (oracle.Broken subclasses), each with the smallest request
that showed it, so that one run reports every distinct bug at once.

By default a run does not stop at the first failing example: it sends all its examples (bounded time, no
shrinking) and fails at the end with the list. With `JANGAR_FUZZ_SHRINK=1` a failure is raised inside the
example instead, and Hypothesis shrinks each class to a minimal request (slower)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tests.fuzz.oracle import Broken
from tests.fuzz.profile import shrinking


@dataclass
class Finding:
    count: int
    # The failure text of the smallest request of the class: the request and what came back.
    smallest: str


@dataclass
class Findings:
    by_class: dict[str, Finding] = field(default_factory=dict)
    examples: int = 0

    def check(self, run_oracle: Callable[[], None]) -> None:
        self.examples += 1
        try:
            run_oracle()
        except Broken as broken:
            if shrinking():
                raise
            name = type(broken).__name__
            known = self.by_class.get(name)
            text = str(broken)
            if known is None:
                self.by_class[name] = Finding(1, text)
            else:
                known.count += 1
                if len(text) < len(known.smallest):
                    known.smallest = text

    def report(self) -> str:
        lines = [f"{len(self.by_class)} kinds of failure in {self.examples} requests:"]
        for name, finding in sorted(self.by_class.items()):
            lines.append(f"\n== {name}: {finding.count} of {self.examples} requests; the smallest:")
            lines.append(finding.smallest)
        return "\n".join(lines)

    def assert_none(self) -> None:
        assert not self.by_class, self.report()
