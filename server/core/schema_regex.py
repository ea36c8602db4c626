"""The regular expressions of user-written JSON Schemas (`pattern`, `patternProperties`), evaluated with RE2,
in time linear in the input. The `jsonschema` library evaluates them with Python's backtracking `re`, where
one pattern such as `^(a+)+$` and a 30-character payload hold a CPU (and the server's event loop) for
minutes; Kubernetes checks CRD patterns with RE2 for the same reason.

`linear(dialect)` is the library's validator class for a dialect with those keywords replaced. RE2 lacks
backreferences and lookaround; `regex_problem` says so for a pattern, so a schema is refused when it is
written, never when a payload arrives."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache, lru_cache
from typing import Any

import re2
from jsonschema import ValidationError, validators
from jsonschema.protocols import Validator

_OPTIONS = re2.Options()
# A refused pattern is the caller's mistake, reported in the response, not a line in the server's log.
_OPTIONS.log_errors = False

Keyword = Callable[[Any, Any, Any, dict[str, Any]], Iterator[ValidationError]]


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> Any:
    return re2.compile(pattern, _OPTIONS)


def _search(pattern: str, text: str) -> bool:
    return _compiled(pattern).search(text) is not None


def regex_problem(pattern: str) -> str | None:
    """Why RE2 cannot evaluate `pattern`, or None."""
    try:
        _compiled(pattern)
    except re2.error as error:
        detail = error.args[0].decode(errors="replace") if error.args else "invalid"
        return f"is not a regular expression RE2 can evaluate (no backreferences or lookaround): {detail}"
    return None


def _pattern(
    validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: dict[str, Any], instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if _search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _without_pattern_properties(library: Keyword) -> Keyword:
    """A keyword that also reads `patternProperties` (additionalProperties), given the instance without the
    properties the patterns match, which is what the library would compute with `re`."""

    def keyword(
        validator: Any, value: Any, instance: Any, schema: dict[str, Any]
    ) -> Iterator[ValidationError]:
        patterns = schema.get("patternProperties")
        if patterns and validator.is_type(instance, "object"):
            instance = {k: v for k, v in instance.items() if not any(_search(p, k) for p in patterns)}
            schema = {k: v for k, v in schema.items() if k != "patternProperties"}
        yield from library(validator, value, instance, schema)

    return keyword


@cache
def linear(dialect: type[Validator]) -> type[Validator]:
    """`dialect` with its regular expressions evaluated by RE2."""
    keywords = dialect.VALIDATORS
    return validators.extend(  # type: ignore[no-any-return]
        dialect,
        {
            "pattern": _pattern,
            "patternProperties": _pattern_properties,
            "additionalProperties": _without_pattern_properties(keywords["additionalProperties"]),
        },
    )
