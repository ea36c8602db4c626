"""Kubernetes label selectors: parsing, canonical form and matching.

No maintained Python library implements Kubernetes label selectors (libkubeselector stopped at an
abandoned 0.0.3, and kubernetes-asyncio ships none), so this module re-implements them, following
k8s.io/apimachinery/pkg/labels/selector.go: the selector lexer and parser, NewRequirement's checks,
Requirement.Matches and Requirement.String. Keys and values are checked with the rules in
jangar.server.core.names.

What is accepted, and what matches, is what Kubernetes accepts and matches, including its corners:
``x in ()`` is the set holding only the empty value, ``a=`` compares with the empty value, a value list
may hold empty entries (``x in (a,,b)``), and ``>``/``<`` take a non-negative integer (the value must
also be a valid label value, which rules out a sign). Where this module differs, it is stricter or more
deterministic, never looser:

* requirements are sorted by key with a stable sort (Go's sort.Sort is not stable, so Kubernetes leaves
  the order of requirements on the same key unspecified);
* a NUL character is an ordinary character, so it fails key or value validation (Go's lexer treats a NUL
  byte as the end of the input and ignores the rest);
* a selector is at most MAX_SELECTOR_LENGTH characters and MAX_REQUIREMENTS requirements, to bound the
  work and the SQL one request can cause;
* messages are short and say where the problem is; positions are 0-based character offsets.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass

from jangar.server.core.names import label_value_problems, qualified_name_problems

__all__ = [
    "MAX_REQUIREMENTS",
    "MAX_SELECTOR_LENGTH",
    "Operator",
    "Requirement",
    "Selector",
    "SelectorSyntaxError",
    "parse_selector",
]

MAX_SELECTOR_LENGTH = 4096
MAX_REQUIREMENTS = 100

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
# strconv.ParseInt(s, 10, 64) syntax; leading zeros are split off so that a long run of them can neither
# overflow the 19-digit check nor reach int()'s digit limit.
_INT64_SYNTAX_RE = re.compile(r"([+-]?)0*([0-9]+)")
_INT64_MAX_DIGITS = 19


class SelectorSyntaxError(ValueError):
    """A label selector that Kubernetes would reject. `position` is the 0-based character offset of the
    problem, or None when the problem is the selector as a whole."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


class Operator(enum.Enum):
    """Selector operators, valued as k8s.io/apimachinery/pkg/selection names them. Kubernetes keeps
    '==' apart from '=' but gives both the same meaning, so here both parse to EQUALS."""

    EQUALS = "="
    NOT_EQUALS = "!="
    IN = "in"
    NOT_IN = "notin"
    EXISTS = "exists"
    DOES_NOT_EXIST = "!"
    GT = "gt"
    LT = "lt"


_SET_OPERATORS = frozenset({Operator.IN, Operator.NOT_IN})
_SINGLE_VALUE_OPERATORS = frozenset({Operator.EQUALS, Operator.NOT_EQUALS, Operator.GT, Operator.LT})
_UNARY_OPERATORS = frozenset({Operator.EXISTS, Operator.DOES_NOT_EXIST})
_INFIX = {
    Operator.EQUALS: "=",
    Operator.NOT_EQUALS: "!=",
    Operator.GT: ">",
    Operator.LT: "<",
    Operator.IN: " in ",
    Operator.NOT_IN: " notin ",
}


def _parse_int64(text: str) -> int | None:
    """The value of `text` read as Go's strconv.ParseInt(text, 10, 64) reads it, or None if that fails."""
    match = _INT64_SYNTAX_RE.fullmatch(text)
    if match is None or len(match.group(2)) > _INT64_MAX_DIGITS:
        return None
    value = int(match.group(1) + match.group(2))
    return value if _INT64_MIN <= value <= _INT64_MAX else None


def _value_problems(operator: Operator, value: str) -> list[str]:
    problems = label_value_problems(value)
    if operator in (Operator.GT, Operator.LT) and _parse_int64(value) is None:
        problems.append("must be an integer for '>' and '<'")
    return problems


def _value_count_problem(operator: Operator, count: int) -> str | None:
    if operator in _SET_OPERATORS and count == 0:
        return "'in' and 'notin' need at least one value"
    if operator in _SINGLE_VALUE_OPERATORS and count != 1:
        return f"'{_INFIX[operator].strip()}' needs exactly one value"
    if operator in _UNARY_OPERATORS and count != 0:
        return "an existence test takes no values"
    return None


@dataclass(frozen=True, slots=True)
class Requirement:
    """One `key <operator> values` term of a selector, validated as Kubernetes' NewRequirement does.

    Values of 'in' and 'notin' are kept sorted and without duplicates, as Kubernetes' parser keeps them."""

    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.operator, Operator):
            raise TypeError(f"operator must be an Operator, not {type(self.operator).__name__}")
        values = tuple(self.values)
        if self.operator in _SET_OPERATORS:
            values = tuple(sorted(set(values)))
        object.__setattr__(self, "values", values)
        problems = _requirement_problems(self.key, self.operator, values)
        if problems:
            raise ValueError(f"invalid requirement on {self.key!r}: {'; '.join(problems)}")

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Kubernetes Requirement.Matches: '!=' and 'notin' match objects without the key; '=', 'in',
        '>' and '<' need it, and '>'/'<' also need its value to be an integer."""
        present = self.key in labels
        match self.operator:
            case Operator.EXISTS:
                return present
            case Operator.DOES_NOT_EXIST:
                return not present
            case Operator.EQUALS | Operator.IN:
                return present and labels[self.key] in self.values
            case Operator.NOT_EQUALS | Operator.NOT_IN:
                return not present or labels[self.key] not in self.values
            case Operator.GT | Operator.LT:
                return present and self._compares(labels[self.key])
        raise AssertionError(self.operator)  # pragma: no cover - the match above is exhaustive

    def _compares(self, actual_text: str) -> bool:
        actual = _parse_int64(actual_text)
        if actual is None:
            return False
        bound = int(self.values[0])
        return actual > bound if self.operator is Operator.GT else actual < bound

    def __str__(self) -> str:
        """Kubernetes Requirement.String, which parse_selector reads back to an equal Requirement."""
        if self.operator is Operator.EXISTS:
            return self.key
        if self.operator is Operator.DOES_NOT_EXIST:
            return f"!{self.key}"
        if self.operator in _SET_OPERATORS:
            return f"{self.key}{_INFIX[self.operator]}({','.join(self.values)})"
        return f"{self.key}{_INFIX[self.operator]}{self.values[0]}"


def _requirement_problems(key: str, operator: Operator, values: tuple[str, ...]) -> list[str]:
    problems = [f"key: {p}" for p in qualified_name_problems(key)]
    count_problem = _value_count_problem(operator, len(values))
    if count_problem:
        problems.append(count_problem)
    for value in values:
        problems.extend(f"value {value!r}: {p}" for p in _value_problems(operator, value))
    return problems


@dataclass(frozen=True, slots=True)
class Selector:
    """A conjunction of requirements. The empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    def __post_init__(self) -> None:
        requirements = tuple(self.requirements)
        if len(requirements) > MAX_REQUIREMENTS:
            raise ValueError(f"a selector may have at most {MAX_REQUIREMENTS} requirements")
        # Stable, so that requirements on one key keep the order they were written in.
        object.__setattr__(self, "requirements", tuple(sorted(requirements, key=lambda r: r.key)))

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(requirement.matches(labels) for requirement in self.requirements)

    def canonical(self) -> str:
        """A normal form: equal for selectors that differ only in spacing, '=' versus '==', the order of
        requirements or values, and repeated requirements. parse_selector reads it back."""
        rendered = sorted({(requirement.key, str(requirement)) for requirement in self.requirements})
        return ",".join(text for _, text in rendered)

    def __str__(self) -> str:
        return self.canonical()


# --- the parser ----------------------------------------------------------------------------------------


class _Kind(enum.Enum):
    END = "end of selector"
    WORD = "word"
    OPEN = "("
    CLOSE = ")"
    COMMA = ","
    BANG = "!"
    EQUALS = "="
    DOUBLE_EQUALS = "=="
    NOT_EQUALS = "!="
    GREATER = ">"
    LESS = "<"


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _Kind
    text: str
    position: int

    def describe(self) -> str:
        return "end of selector" if self.kind is _Kind.END else repr(self.text)


# The lexer's alphabet is Kubernetes' own: these four whitespace characters separate tokens, these seven
# symbols are operators, and every other character belongs to a word (keys and values are validated later).
_WHITESPACE = frozenset(" \t\r\n")
_SPECIAL = frozenset("=!(),><")
_SYMBOLS = {
    kind.value: kind
    for kind in (
        _Kind.OPEN,
        _Kind.CLOSE,
        _Kind.COMMA,
        _Kind.BANG,
        _Kind.EQUALS,
        _Kind.DOUBLE_EQUALS,
        _Kind.NOT_EQUALS,
        _Kind.GREATER,
        _Kind.LESS,
    )
}
_OPERATOR_SYMBOLS = {
    _Kind.EQUALS: Operator.EQUALS,
    _Kind.DOUBLE_EQUALS: Operator.EQUALS,
    _Kind.NOT_EQUALS: Operator.NOT_EQUALS,
    _Kind.GREATER: Operator.GT,
    _Kind.LESS: Operator.LT,
}
# 'in' and 'notin' are keywords only where an operator is expected; elsewhere they are ordinary words, so
# that `in in (in)` is a valid selector, as it is in Kubernetes.
_OPERATOR_WORDS = {"in": Operator.IN, "notin": Operator.NOT_IN}
_OPERATOR_LIST = "'=', '==', '!=', 'in', 'notin', '>' or '<'"


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while True:
        while position < len(text) and text[position] in _WHITESPACE:
            position += 1
        if position == len(text):
            tokens.append(_Token(_Kind.END, "", position))
            return tokens
        if text[position] in _SPECIAL:
            # Longest match, as Kubernetes' scanSpecialSymbol: '!=' and '==' are the only two-character ones.
            pair = text[position : position + 2]
            symbol = pair if pair in _SYMBOLS else text[position]
            tokens.append(_Token(_SYMBOLS[symbol], symbol, position))
            position += len(symbol)
            continue
        end = position
        while end < len(text) and text[end] not in _SPECIAL and text[end] not in _WHITESPACE:
            end += 1
        tokens.append(_Token(_Kind.WORD, text[position:end], position))
        position = end


def _error(expected: str, token: _Token) -> SelectorSyntaxError:
    return SelectorSyntaxError(
        f"expected {expected} at position {token.position}, found {token.describe()}", token.position
    )


class _Parser:
    """Recursive descent over the token list, accepting exactly the language of Kubernetes' Parser."""

    def __init__(self, text: str) -> None:
        self._tokens = _tokenize(text)
        self._index = 0

    def _peek(self) -> _Token:
        return self._tokens[self._index]

    def _next(self) -> _Token:
        token = self._tokens[self._index]
        # END is never consumed past, so every lookahead has a token to look at.
        if token.kind is not _Kind.END:
            self._index += 1
        return token

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        if self._peek().kind is _Kind.END:
            return requirements
        while True:
            requirements.append(self._requirement())
            if len(requirements) > MAX_REQUIREMENTS:
                raise SelectorSyntaxError(f"a selector may have at most {MAX_REQUIREMENTS} requirements")
            separator = self._next()
            if separator.kind is _Kind.END:
                return requirements
            if separator.kind is not _Kind.COMMA:
                raise _error("',' or end of selector", separator)
            # Kubernetes has no empty requirement: a trailing or doubled ',' is an error.
            if self._peek().kind not in (_Kind.WORD, _Kind.BANG):
                raise _error("a label key or '!' after ','", self._peek())

    def _requirement(self) -> Requirement:
        negated = self._peek().kind is _Kind.BANG
        if negated:
            self._next()
        key = self._next()
        if key.kind is not _Kind.WORD:
            raise _error("a label key" if negated else "a label key or '!'", key)
        _check(f"label key {key.text!r}", key.position, qualified_name_problems(key.text))
        # '!key' never takes an operator; whatever follows it must end the requirement.
        if negated:
            return Requirement(key.text, Operator.DOES_NOT_EXIST)
        if self._peek().kind in (_Kind.END, _Kind.COMMA):
            return Requirement(key.text, Operator.EXISTS)
        operator = self._operator()
        values = self._value_set() if operator in _SET_OPERATORS else [self._exact_value()]
        for value in values:
            _check(
                f"value {value.text!r} for {key.text!r}",
                value.position,
                _value_problems(operator, value.text),
            )
        return Requirement(key.text, operator, tuple(value.text for value in values))

    def _operator(self) -> Operator:
        token = self._next()
        operator = _OPERATOR_SYMBOLS.get(token.kind)
        if operator is None and token.kind is _Kind.WORD:
            operator = _OPERATOR_WORDS.get(token.text)
        if operator is None:
            raise _error(f"an operator ({_OPERATOR_LIST})", token)
        return operator

    def _exact_value(self) -> _Token:
        # `a=` and `a=,b` compare with the empty value, as in Kubernetes.
        if self._peek().kind in (_Kind.END, _Kind.COMMA):
            return _Token(_Kind.WORD, "", self._peek().position)
        token = self._next()
        if token.kind is not _Kind.WORD:
            raise _error("a value", token)
        return token

    def _value_set(self) -> list[_Token]:
        """`(v1,v2,...)` where any entry may be empty, so `()` is the set holding only the empty value:
        the language Kubernetes' parseValues and parseIdentifiersList accept."""
        opening = self._next()
        if opening.kind is not _Kind.OPEN:
            raise _error("'('", opening)
        values: list[_Token] = []
        expecting_value = True
        while True:
            token = self._next()
            if token.kind is _Kind.WORD and expecting_value:
                values.append(token)
                expecting_value = False
            elif token.kind in (_Kind.COMMA, _Kind.CLOSE):
                if expecting_value:
                    values.append(_Token(_Kind.WORD, "", token.position))
                if token.kind is _Kind.CLOSE:
                    return values
                expecting_value = True
            else:
                raise _error("a value, ',' or ')'" if expecting_value else "',' or ')'", token)


def _check(what: str, position: int, problems: list[str]) -> None:
    if problems:
        raise SelectorSyntaxError(f"invalid {what} at position {position}: {'; '.join(problems)}", position)


def parse_selector(text: str) -> Selector:
    """Parse a Kubernetes label selector such as ``app=web,tier in (db,cache),!canary``.

    The empty string (or only whitespace) is the selector that matches everything. Raises
    SelectorSyntaxError for anything Kubernetes' labels.Parse rejects, and for selectors longer than
    MAX_SELECTOR_LENGTH characters or with more than MAX_REQUIREMENTS requirements."""
    if len(text) > MAX_SELECTOR_LENGTH:
        raise SelectorSyntaxError(f"a selector may be at most {MAX_SELECTOR_LENGTH} characters long")
    return Selector(tuple(_Parser(text).parse()))
