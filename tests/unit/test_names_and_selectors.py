"""Names, label keys and values, and label selectors, against the behaviour of Kubernetes' apimachinery
(pkg/util/validation and pkg/labels/selector.go)."""

from __future__ import annotations

import pytest

from jangar.server.core.names import (
    c_identifier_problems,
    dns1123_label_problems,
    dns1123_subdomain_problems,
    label_value_problems,
    qualified_name_problems,
)
from jangar.server.core.selectors import (
    MAX_REQUIREMENTS,
    MAX_SELECTOR_LENGTH,
    Operator,
    Requirement,
    Selector,
    SelectorSyntaxError,
    parse_selector,
)

EQ, NE, IN, NOTIN = Operator.EQUALS, Operator.NOT_EQUALS, Operator.IN, Operator.NOT_IN
EXISTS, ABSENT, GT, LT = Operator.EXISTS, Operator.DOES_NOT_EXIST, Operator.GT, Operator.LT


# --- qualified names (label keys) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "a",
        "A",
        "1",
        "a.b",
        "a-b_c.D",
        "x" * 63,
        "example.com/app",
        "app.kubernetes.io/name",
        "k8s.io/X_y",
        "a/b",
    ],
)
def test_qualified_name_accepts(key: str) -> None:
    assert qualified_name_problems(key) == []


@pytest.mark.parametrize(
    ("key", "problems"),
    [
        ("", ["name part must be non-empty"]),
        ("x" * 64, ["name part must be no more than 63 characters"]),
        ("/a", ["prefix part must be non-empty"]),
        ("a/", ["name part must be non-empty"]),
        (
            "-a",
            [
                "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                "with an alphanumeric character"
            ],
        ),
    ],
)
def test_qualified_name_messages(key: str, problems: list[str]) -> None:
    assert qualified_name_problems(key) == problems


@pytest.mark.parametrize(
    "key",
    [
        "a-",
        "_a",
        "a b",
        "a\n",
        "é",
        "a/b/c",
        "Example.com/a",
        "exa_mple.com/a",
        "-x.com/a",
        ("x" * 254) + "/a",
    ],
)
def test_qualified_name_rejects(key: str) -> None:
    assert qualified_name_problems(key)


def test_qualified_name_reports_prefix_and_name_together() -> None:
    problems = qualified_name_problems("Bad.Prefix/-bad-")
    assert len(problems) == 2
    assert problems[0].startswith("prefix part must consist of lower case")
    assert problems[1].startswith("name part must consist of")


def test_qualified_name_prefix_length() -> None:
    assert qualified_name_problems(("a" * 253) + "/x") == []
    assert qualified_name_problems(("a" * 254) + "/x") == ["prefix part must be no more than 253 characters"]


# --- label values --------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "a", "A.b-c_D", "123", "x" * 63])
def test_label_value_accepts(value: str) -> None:
    assert label_value_problems(value) == []


def test_label_value_too_long() -> None:
    assert label_value_problems("x" * 64) == ["must be no more than 63 characters"]


@pytest.mark.parametrize("value", ["-a", "a-", ".a", "a b", "a/b", "é", "a\n", "a=b"])
def test_label_value_rejects_characters(value: str) -> None:
    assert label_value_problems(value) == [
        "must be empty or consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
        "an alphanumeric character"
    ]


# --- DNS-1123 labels and subdomains --------------------------------------------------------------------


@pytest.mark.parametrize("value", ["a", "my-name", "123-abc", "0", "x" * 63])
def test_dns1123_label_accepts(value: str) -> None:
    assert dns1123_label_problems(value) == []


@pytest.mark.parametrize(
    ("value", "problems"),
    [
        ("", ["must be non-empty"]),
        ("a.b", ["must not contain dots"]),
        ("x" * 64, ["must be no more than 63 characters"]),
        (
            "My-Name",
            [
                "must consist of lower case alphanumeric characters or '-', and must start and end with an "
                "alphanumeric character"
            ],
        ),
    ],
)
def test_dns1123_label_messages(value: str, problems: list[str]) -> None:
    assert dns1123_label_problems(value) == problems


@pytest.mark.parametrize("value", ["-a", "a-", "a_b", "a b", "a\n"])
def test_dns1123_label_rejects(value: str) -> None:
    assert dns1123_label_problems(value)


# Kubernetes limits the whole subdomain to 253 characters but not each of its labels to 63.
@pytest.mark.parametrize("value", ["a", "example.com", "a-b.c-d.e", "1.2.3", "x" * 253, ("x" * 100) + ".com"])
def test_dns1123_subdomain_accepts(value: str) -> None:
    assert dns1123_subdomain_problems(value) == []


@pytest.mark.parametrize("value", ["", ".a", "a.", "a..b", "A.com", "a_b.com", "-a.com", "a-.com", "a\n"])
def test_dns1123_subdomain_rejects(value: str) -> None:
    assert dns1123_subdomain_problems(value)


def test_dns1123_subdomain_too_long() -> None:
    assert dns1123_subdomain_problems("x" * 254) == ["must be no more than 253 characters"]


# --- environment variable names ------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["MY_ENV", "my.env-name", "MyEnvName1", "_x", "-x", ".x", "a..b"])
def test_c_identifier_accepts(value: str) -> None:
    assert c_identifier_problems(value) == []


@pytest.mark.parametrize(
    ("value", "problems"),
    [
        ("", ["must be non-empty"]),
        (".", ["must not be '.'"]),
        ("..", ["must not be '..'"]),
        ("..x", ["must not start with '..'"]),
        (
            "1ABC",
            [
                "must consist of alphabetic characters, digits, '_', '-' or '.', and must not start with a "
                "digit"
            ],
        ),
    ],
)
def test_c_identifier_messages(value: str, problems: list[str]) -> None:
    assert c_identifier_problems(value) == problems


@pytest.mark.parametrize("value", ["A=B", "a b", "a\n", "é"])
def test_c_identifier_rejects(value: str) -> None:
    assert c_identifier_problems(value)


# --- selector parsing ----------------------------------------------------------------------------------


def _terms(selector: Selector) -> list[tuple[str, Operator, tuple[str, ...]]]:
    return [(r.key, r.operator, r.values) for r in selector.requirements]


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("", []),
        ("  \t\r\n ", []),
        ("a", [("a", EXISTS, ())]),
        ("!a", [("a", ABSENT, ())]),
        ("a=b", [("a", EQ, ("b",))]),
        ("a==b", [("a", EQ, ("b",))]),
        ("a!=b", [("a", NE, ("b",))]),
        ("a=", [("a", EQ, ("",))]),
        ("a=,b", [("a", EQ, ("",)), ("b", EXISTS, ())]),
        ("a!=", [("a", NE, ("",))]),
        ("a in (x, y),b notin (z)", [("a", IN, ("x", "y")), ("b", NOTIN, ("z",))]),
        # Kubernetes reads "()" as the set holding only the empty value, and empty entries anywhere.
        ("x in ()", [("x", IN, ("",))]),
        ("x notin ()", [("x", NOTIN, ("",))]),
        ("x in (a,)", [("x", IN, ("", "a"))]),
        ("x in (,a)", [("x", IN, ("", "a"))]),
        ("x in (a,,b)", [("x", IN, ("", "a", "b"))]),
        ("x in (,)", [("x", IN, ("",))]),
        (
            "x in (foo,,baz),y,z notin ()",
            [("x", IN, ("", "baz", "foo")), ("y", EXISTS, ()), ("z", NOTIN, ("",))],
        ),
        ("x in (b,a,b)", [("x", IN, ("a", "b"))]),
        ("a>5", [("a", GT, ("5",))]),
        ("a<10", [("a", LT, ("10",))]),
        ("a > 007", [("a", GT, ("007",))]),
        ("a>9223372036854775807", [("a", GT, ("9223372036854775807",))]),
        ("example.com/app=web", [("example.com/app", EQ, ("web",))]),
        ("app.kubernetes.io/name in (a.b, c_d)", [("app.kubernetes.io/name", IN, ("a.b", "c_d"))]),
        ("a=" + "v" * 63, [("a", EQ, ("v" * 63,))]),
        # Whitespace separates tokens but is never needed around symbols.
        ("  a  =  b  ,  c  ", [("a", EQ, ("b",)), ("c", EXISTS, ())]),
        ("x  in(b)", [("x", IN, ("b",))]),
        ("a\tin\n(\rb\t)", [("a", IN, ("b",))]),
        ("a,!b", [("a", EXISTS, ()), ("b", ABSENT, ())]),
        ("! a", [("a", ABSENT, ())]),
        # 'in' and 'notin' are keywords only where an operator is expected.
        ("in in (in)", [("in", IN, ("in",))]),
        ("notin notin (notin,in)", [("notin", NOTIN, ("in", "notin"))]),
        ("in=notin", [("in", EQ, ("notin",))]),
        ("in", [("in", EXISTS, ())]),
    ],
)
def test_parse(text: str, terms: list[tuple[str, Operator, tuple[str, ...]]]) -> None:
    assert _terms(parse_selector(text)) == terms


def test_requirements_are_sorted_by_key_stably() -> None:
    selector = parse_selector("c,b=1,a=2,b=0")
    assert _terms(selector) == [("a", EQ, ("2",)), ("b", EQ, ("1",)), ("b", EQ, ("0",)), ("c", EXISTS, ())]


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("a=b,", "expected a label key or '!' after ',' at position 4, found end of selector", 4),
        ("a,,b", "expected a label key or '!' after ',' at position 2, found ','", 2),
        (",a", "expected a label key or '!' at position 0, found ','", 0),
        ("(a)", "expected a label key or '!' at position 0, found '('", 0),
        ("!", "expected a label key at position 1, found end of selector", 1),
        ("!!a", "expected a label key at position 1, found '!'", 1),
        ("!a=b", "expected ',' or end of selector at position 2, found '='", 2),
        (
            "a b",
            "expected an operator ('=', '==', '!=', 'in', 'notin', '>' or '<') at position 2, found 'b'",
            2,
        ),
        ("a)", "expected an operator", 1),
        ("a in x", "expected '(' at position 5, found 'x'", 5),
        ("a in", "expected '(' at position 4, found end of selector", 4),
        ("a in (x", "expected ',' or ')' at position 7, found end of selector", 7),
        ("a in (x y)", "expected ',' or ')' at position 8, found 'y'", 8),
        ("a in (x,=)", "expected a value, ',' or ')' at position 8, found '='", 8),
        ("a in (x))", "expected ',' or end of selector at position 8, found ')'", 8),
        ("a in (x),", "expected a label key or '!' after ','", 9),
        ("a=b c", "expected ',' or end of selector at position 4, found 'c'", 4),
        ("a=b=c", "expected ',' or end of selector at position 3, found '='", 3),
        ("a===b", "expected a value at position 3, found '='", 3),
        ("a=!b", "expected a value at position 2, found '!'", 2),
        ("a=(b)", "expected a value at position 2, found '('", 2),
        ("a in (x), b in (y", "expected ',' or ')' at position 17, found end of selector", 17),
    ],
)
def test_syntax_errors(text: str, message: str, position: int) -> None:
    with pytest.raises(SelectorSyntaxError) as raised:
        parse_selector(text)
    assert message in str(raised.value)
    assert raised.value.position == position


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("-a=b", "invalid label key '-a' at position 0: name part must consist of", 0),
        ("x, Foo.com/bar", "invalid label key 'Foo.com/bar' at position 3: prefix part", 3),
        ("a/b/c", "invalid label key 'a/b/c' at position 0", 0),
        ("/a", "invalid label key '/a' at position 0: prefix part must be non-empty", 0),
        ("k" * 64, "name part must be no more than 63 characters", 0),
        (
            "a=" + "v" * 64,
            "invalid value '" + "v" * 64 + "' for 'a' at position 2: must be no more than 63",
            2,
        ),
        ("a in (ok, -bad)", "invalid value '-bad' for 'a' at position 10: must be empty or consist of", 10),
        ("a!=b&c", "invalid value 'b&c' for 'a' at position 3", 3),
        ("a\x00", "invalid label key 'a\\x00' at position 0", 0),
        ("a>b", "invalid value 'b' for 'a' at position 2: must be an integer for '>' and '<'", 2),
        ("a>", "invalid value '' for 'a' at position 2: must be an integer", 2),
        ("a<1.5", "must be an integer", 2),
        # A value for '>' must also be a label value, which cannot start with a sign.
        ("a>-1", "invalid value '-1' for 'a' at position 2: must be empty or consist of", 2),
        ("a>9223372036854775808", "must be an integer", 2),
    ],
)
def test_invalid_keys_and_values(text: str, message: str, position: int) -> None:
    with pytest.raises(SelectorSyntaxError) as raised:
        parse_selector(text)
    assert message in str(raised.value)
    assert raised.value.position == position


def test_syntax_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="expected"):
        parse_selector("a in")


def test_length_limit() -> None:
    assert parse_selector("a" + " " * (MAX_SELECTOR_LENGTH - 1)) == parse_selector("a")
    with pytest.raises(SelectorSyntaxError, match="at most 4096 characters") as raised:
        parse_selector("a" + " " * MAX_SELECTOR_LENGTH)
    assert raised.value.position is None


def test_requirement_limit() -> None:
    assert len(parse_selector(",".join(f"k{i}" for i in range(MAX_REQUIREMENTS))).requirements) == 100
    with pytest.raises(SelectorSyntaxError, match="at most 100 requirements"):
        parse_selector(",".join(f"k{i}" for i in range(MAX_REQUIREMENTS + 1)))
    with pytest.raises(ValueError, match="at most 100 requirements"):
        Selector(tuple(Requirement(f"k{i}", EXISTS) for i in range(MAX_REQUIREMENTS + 1)))


# --- requirements built directly ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "operator", "values", "message"),
    [
        ("a", IN, (), "'in' and 'notin' need at least one value"),
        ("a", NOTIN, [], "'in' and 'notin' need at least one value"),
        ("a", EQ, ("x", "y"), "'=' needs exactly one value"),
        ("a", GT, (), "'>' needs exactly one value"),
        ("a", EXISTS, ("x",), "takes no values"),
        ("a", ABSENT, ("x",), "takes no values"),
        ("a", GT, ("x",), "must be an integer"),
        ("a", LT, ("-1",), "must be empty or consist of"),
        ("bad key", EXISTS, (), "key: name part"),
        ("a", EQ, ("v" * 64,), "must be no more than 63 characters"),
    ],
)
def test_requirement_validates(key: str, operator: Operator, values: tuple[str, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Requirement(key, operator, values)


def test_requirement_rejects_non_operator() -> None:
    with pytest.raises(TypeError):
        Requirement("a", "=", ("b",))  # type: ignore[arg-type]


def test_requirement_normalizes_set_values() -> None:
    assert Requirement("a", IN, ["b", "a", "b"]).values == ("a", "b")  # type: ignore[arg-type]
    assert Requirement("a", IN, ("b", "a")) == Requirement("a", IN, ("a", "b"))


def test_selector_sorts_requirements() -> None:
    selector = Selector((Requirement("b", EXISTS), Requirement("a", EXISTS)))
    assert [r.key for r in selector.requirements] == ["a", "b"]
    assert selector == parse_selector("a,b")


# --- canonical form ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("", ""),
        ("b, a", "a,b"),
        ("a==b", "a=b"),
        ("  a  =  b  ", "a=b"),
        ("!a", "!a"),
        ("a!=b", "a!=b"),
        ("a=", "a="),
        ("x in (b, a, b)", "x in (a,b)"),
        ("x notin ()", "x notin ()"),
        ("x in (a,,)", "x in (,a)"),
        ("a>5,a<10", "a<10,a>5"),
        ("a=2,a=1,a=2", "a=1,a=2"),
        ("example.com/app=web,app", "app,example.com/app=web"),
    ],
)
def test_canonical(text: str, canonical: str) -> None:
    assert parse_selector(text).canonical() == canonical
    assert str(parse_selector(text)) == canonical


@pytest.mark.parametrize(
    "text",
    ["a in (x, y),b notin (z)", "x in (foo,,baz),y,z notin ()", "!a,b=,c!=d,e>1,f<2", "in in (in,notin)"],
)
def test_canonical_round_trips(text: str) -> None:
    selector = parse_selector(text)
    again = parse_selector(selector.canonical())
    assert again == selector
    assert again.canonical() == selector.canonical()


def test_equivalent_selectors_share_a_canonical_form() -> None:
    assert (
        parse_selector("tier in (b,a), app==web").canonical()
        == parse_selector("app=web,tier in (a,b,a)").canonical()
    )


# --- matching ------------------------------------------------------------------------------------------

LABELS: dict[str, dict[str, str]] = {
    "none": {},
    "web": {"app": "web", "tier": "frontend"},
    "db": {"app": "db"},
    "empty": {"app": ""},
    "three": {"replicas": "3"},
    "ten": {"replicas": "10"},
    "signed": {"replicas": "+7"},
    "negative": {"replicas": "-5"},
    "zeros": {"replicas": "0007"},
    "word": {"replicas": "many"},
    "huge": {"replicas": "9223372036854775808"},
    "spaced": {"replicas": " 4"},
    "underscored": {"replicas": "1_0"},
}


@pytest.mark.parametrize(
    ("text", "matching"),
    [
        ("", set(LABELS)),
        ("app", {"web", "db", "empty"}),
        ("!app", set(LABELS) - {"web", "db", "empty"}),
        ("app=web", {"web"}),
        ("app==web", {"web"}),
        # '!=' and 'notin' match objects without the key; '=' and 'in' need it.
        ("app!=web", set(LABELS) - {"web"}),
        ("app in (web,db)", {"web", "db"}),
        ("app notin (web,db)", set(LABELS) - {"web", "db"}),
        ("app=", {"empty"}),
        ("app in ()", {"empty"}),
        ("app notin ()", set(LABELS) - {"empty"}),
        ("app=web,tier=frontend", {"web"}),
        ("app=web,app=db", set()),
        # '>' and '<' need the key and an integer value, read as Go's strconv.ParseInt reads it.
        ("replicas>3", {"ten", "signed", "zeros"}),
        ("replicas<7", {"three", "negative"}),
        ("replicas<1", {"negative"}),
        ("replicas>0,replicas<10", {"three", "signed", "zeros"}),
        ("replicas>9223372036854775806", set()),
    ],
)
def test_matches(text: str, matching: set[str]) -> None:
    selector = parse_selector(text)
    assert {name for name, labels in LABELS.items() if selector.matches(labels)} == matching


def test_greater_than_ignores_values_out_of_int64_range() -> None:
    requirement = Requirement("n", GT, ("1",))
    assert requirement.matches({"n": "9223372036854775807"})
    assert not requirement.matches({"n": "9223372036854775808"})
    assert Requirement("n", LT, ("0",)).matches({"n": "-9223372036854775808"})
    assert not Requirement("n", LT, ("0",)).matches({"n": "-9223372036854775809"})
    assert requirement.matches({"n": "0" * 5000 + "2"})
    assert not requirement.matches({"n": "2\n"})
