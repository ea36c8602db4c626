"""Resource quantities, against the cases of Kubernetes' pkg/api/resource/quantity_test.go."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from jangar.server.core.quantity import non_negative_quantity_problems, parse_quantity, quantity_problems

KI = 2**10


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", "0"),
        ("0n", "0"),
        ("0Ki", "0"),
        ("-0", "0"),
        ("1", "1"),
        # binary suffixes
        ("1Ki", KI),
        ("8Ki", 8 * KI),
        ("7Mi", 7 * KI**2),
        ("6Gi", 6 * KI**3),
        ("5Ti", 5 * KI**4),
        ("4Pi", 4 * KI**5),
        ("3Ei", 3 * KI**6),
        # decimal suffixes
        ("5n", "5e-9"),
        ("4u", "4e-6"),
        ("3m", "0.003"),
        ("500m", "0.5"),
        ("8k", "8000"),
        ("50k", "50000"),
        ("7M", "7e6"),
        ("6G", "6e9"),
        ("5T", "5e12"),
        ("2P", "2e15"),
        ("1E", "1e18"),
        ("12E", "12e18"),
        # decimal exponents
        ("1E-3", "0.001"),
        ("1e3", "1000"),
        ("1E6", "1e6"),
        ("1e+9", "1e9"),
        ("1.3E+6", "1.3e6"),
        ("0.5e-2", "0.005"),
        ("1.7E18", "1.7e18"),
        # things that look like floating point
        ("0.001", "0.001"),
        ("0.0005k", "0.5"),
        ("100.035k", "100035"),
        ("10.035M", "10035000"),
        ("7.123456M", "7123456"),
        (".001", "0.001"),
        (".0001k", "0.1"),
        ("1.", "1"),
        ("1.G", "1e9"),
        ("+1.5", "1.5"),
        ("-1.5", "-1.5"),
        # finer than a nano: rounded away from zero to a whole nano
        ("3.001n", "4e-9"),
        ("1.1E-9", "2e-9"),
        ("0.0000000001", "1e-9"),
        ("0.9n", "1e-9"),
        ("0.00000012345", "124e-9"),
        ("-0.00000012345", "-124e-9"),
        ("0.000000000001Ki", "2e-9"),
        ("1e-2000000000", "1e-9"),
        # binary values are capped at 2^63-1
        ("8Ei", 2**63 - 1),
        ("9Ei", 2**63 - 1),
        ("-9Ei", -(2**63 - 1)),
        ("9223372036854775807Ki", 2**63 - 1),
        # fractional binary values
        ("100.035Ki", "102435.84"),
        ("0.5Mi", KI**2 // 2),
        # decimal values are not capped
        ("18446744073709551616", 2**64),
        ("1e2000000000", "1e2000000000"),
    ],
)
def test_parse_quantity(text: str, value: str | int) -> None:
    assert parse_quantity(text) == Decimal(value)
    assert quantity_problems(text) == []


def test_parse_quantity_is_exact_for_long_numbers() -> None:
    digits = "1234567890" * 10
    assert parse_quantity(digits + "m") == Decimal(f"{digits[:-3]}.{digits[-3:]}")
    assert parse_quantity("0" * 10_000 + "1") == 1


@pytest.mark.parametrize(
    "text",
    [
        # Kubernetes' own invalid cases
        "1.1.M",
        "1+1.0M",
        "0.1mi",
        "0.1am",
        "aoeu",
        ".5i",
        "1i",
        "-3.01i",
        "-3.01e-",
        " 1",
        "1 ",
        # and more
        "",
        "1e",
        "1e+",
        "1e1.5",
        "1Ki3",
        "1ki",
        "1K",
        "1KI",
        "Ki",
        "1,5",
        "1.5.",
        "--1",
        "1\n",
        "\u0661",  # a digit, but not an ASCII one
        # Kubernetes' scanner reads these as zero; its grammar, and this module, do not.
        "+",
        "-",
        ".",
        "-.",
        # an exponent beyond 32 bits, which Kubernetes silently truncates
        "1e3000000000",
    ],
)
def test_invalid_quantities(text: str) -> None:
    assert len(quantity_problems(text)) == 1
    with pytest.raises(ValueError, match=re.escape(f"invalid quantity {text!r}")):
        parse_quantity(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "must be non-empty"),
        ("abc", "must start with a number"),
        ("1Xi", "has an unknown suffix 'Xi'"),
        ("1 ", "has an unknown suffix ' '"),
        ("1e3000000000", "has an exponent outside the 32-bit range"),
    ],
)
def test_messages(text: str, message: str) -> None:
    assert quantity_problems(text)[0].startswith(message)


@pytest.mark.parametrize("text", ["0", "-0", "1", "500m", "2Gi", "1e3", "0.0"])
def test_non_negative_accepts(text: str) -> None:
    assert non_negative_quantity_problems(text) == []


@pytest.mark.parametrize("text", ["-1", "-500m", "-1Ki", "-1e-12"])
def test_non_negative_rejects_negatives(text: str) -> None:
    assert quantity_problems(text) == []
    assert non_negative_quantity_problems(text) == ["must be greater than or equal to 0"]


def test_non_negative_reports_syntax_first() -> None:
    assert non_negative_quantity_problems("-1x") == quantity_problems("-1x")
    assert len(non_negative_quantity_problems("-1x")) == 1
