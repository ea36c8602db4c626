"""Kubernetes resource quantities ("500m", "1.5", "2Gi", "1e3").

No maintained Python library parses Kubernetes quantities (kubernetes-asyncio has no parser), so this
module re-implements k8s.io/apimachinery/pkg/api/resource/quantity.go (ParseQuantity and
parseQuantityString) and suffix.go. The grammar, from quantity.go:

    <quantity>        ::= <signedNumber><suffix>
    <signedNumber>    ::= <number> | <sign><number>
    <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
    <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
    <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
    <decimalSI>       ::= n | u | m | "" | k | M | G | T | P | E
    <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>

The value is the one Kubernetes stores: exact, except that a non-zero value finer than 1n is rounded
away from zero to a whole number of nanos, and a binary-suffixed value is capped in magnitude at 2^63-1
(so "8Ei" is 2^63-1), both as ParseQuantity does. As in Kubernetes, the exponent of the e/E form is an
integer (the parser never accepted "1e1.5", whatever the grammar says).

Where this module differs it is stricter: a number must have at least one digit (Kubernetes' scanner
also reads "+", "-", "." and "-." as zero, which its own grammar does not allow), and an exponent must
fit in 32 bits (Kubernetes silently truncates a larger one to 32 bits).
"""

from __future__ import annotations

import re
from decimal import MAX_EMAX, MIN_EMIN, ROUND_UP, Context, Decimal

__all__ = ["non_negative_quantity_problems", "parse_quantity", "quantity_problems"]

_NUMBER_RE = re.compile(r"(?P<sign>[+-]?)(?P<whole>[0-9]*)(?:\.(?P<fraction>[0-9]*))?")
_EXPONENT_RE = re.compile(r"[eE](?P<exponent>[+-]?[0-9]+)")
_DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_BINARY_MAX = Decimal(2**63 - 1)
_NANO = Decimal("1e-9")
_NANO_EXPONENT = -9
_EXAMPLES = "e.g. '500m', '1.5', '2Gi' or '1e3'"
_SUFFIX_LIST = "n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent such as e3"


class _Invalid(ValueError):
    pass


def _context(digits: int) -> Context:
    # Wide enough that scaling, the binary multiplication (2^60 has 19 digits) and rounding to nano are
    # exact: the default context's 28 digits would round long inputs, and its exponent range is small.
    return Context(prec=digits + 64, Emax=MAX_EMAX, Emin=MIN_EMIN)


def _scale(suffix: str) -> tuple[int, int]:
    """(base, exponent) meant by a suffix: 10**exponent or 2**exponent."""
    if suffix in _DECIMAL_SUFFIXES:
        return 10, _DECIMAL_SUFFIXES[suffix]
    if suffix in _BINARY_SUFFIXES:
        return 2, _BINARY_SUFFIXES[suffix]
    match = _EXPONENT_RE.fullmatch(suffix)
    if match is None:
        raise _Invalid(f"has an unknown suffix {suffix!r} (expected {_SUFFIX_LIST})")
    exponent = int(match.group("exponent"))
    if not _INT32_MIN <= exponent <= _INT32_MAX:
        raise _Invalid("has an exponent outside the 32-bit range")
    return 10, exponent


def _parse(text: str) -> Decimal:
    if not text:
        raise _Invalid(f"must be non-empty ({_EXAMPLES})")
    number = _NUMBER_RE.match(text)
    assert number is not None  # every part of the pattern is optional
    whole, fraction = number.group("whole"), number.group("fraction") or ""
    if not whole and not fraction:
        raise _Invalid(f"must start with a number, optionally signed ({_EXAMPLES})")
    base, exponent = _scale(text[number.end() :])
    context = _context(len(whole) + len(fraction))
    value = Decimal(number.group("sign") + (whole or "0") + (f".{fraction}" if fraction else ""))
    if base == 10:
        value = value.scaleb(exponent, context=context)
    else:
        value = context.multiply(value, Decimal(2**exponent))
    if value.is_zero():
        return Decimal(0)
    digits_exponent = value.as_tuple().exponent
    if isinstance(digits_exponent, int) and digits_exponent < _NANO_EXPONENT:
        value = value.quantize(_NANO, rounding=ROUND_UP, context=context)
    if base == 2 and value.copy_abs() > _BINARY_MAX:  # copy_abs: abs() would round to 28 digits
        value = _BINARY_MAX.copy_sign(value)
    return value


def parse_quantity(text: str) -> Decimal:
    """The value of a Kubernetes quantity, e.g. Decimal('0.5') for "500m" and Decimal(2**31) for "2Gi".

    The result is exact and can be huge ("1e999999") or tiny; compare it rather than converting it to an
    int or float. Raises ValueError when `text` is not a quantity."""
    try:
        return _parse(text)
    except _Invalid as problem:
        raise ValueError(f"invalid quantity {text!r}: {problem}") from None


def quantity_problems(text: str) -> list[str]:
    """What is wrong with `text` as a Kubernetes quantity; empty when it is one. Negative values pass."""
    try:
        _parse(text)
    except _Invalid as problem:
        return [str(problem)]
    return []


def non_negative_quantity_problems(text: str) -> list[str]:
    """quantity_problems, and also reject values below zero (Kubernetes' ValidateNonnegativeQuantity)."""
    try:
        value = _parse(text)
    except _Invalid as problem:
        return [str(problem)]
    return ["must be greater than or equal to 0"] if value < 0 else []
