"""Kubernetes label selectors as PostgreSQL conditions on a jsonb `labels` column.

Each requirement becomes a condition that selects exactly the rows Selector.matches accepts (for labels
stored as a JSON object of strings, which is how labels are written), built with SQLAlchemy Core and bind
parameters only. Conditions are shaped so that a GIN index on the column can serve them: jsonb_ops (the
default) serves both `@>` and `?`, jsonb_path_ops serves `@>`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from jangar.server.core.selectors import Operator, Requirement, Selector

__all__ = ["selector_clause"]

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
# What Go's strconv.ParseInt(s, 10, 64) can read, up to the range check: optional sign, leading zeros,
# then at most 19 digits. Bounding the digits keeps the numeric cast below cheap and unable to overflow.
_INT64_SYNTAX = "^[+-]?0*[0-9]{1,19}$"


def selector_clause(column: ColumnElement[Any], selector: Selector) -> ColumnElement[bool]:
    """A WHERE condition on `column` (jsonb labels) that holds exactly where `selector` matches."""
    if not selector.requirements:
        return sa.true()
    # Coerce so that the jsonb operators are available whatever type the caller's column object carries
    # (the coercion only adds parentheses to the SQL).
    labels = column if isinstance(column.type, JSONB) else sa.type_coerce(column, JSONB)
    return sa.and_(*(_requirement_clause(labels, requirement) for requirement in selector.requirements))


def _requirement_clause(labels: ColumnElement[Any], requirement: Requirement) -> ColumnElement[bool]:
    key, values = requirement.key, requirement.values
    match requirement.operator:
        case Operator.EXISTS:
            return labels.has_key(key)
        case Operator.DOES_NOT_EXIST:
            return sa.not_(labels.has_key(key))
        case Operator.EQUALS:
            return _contains(labels, key, values[0])
        case Operator.IN if len(values) == 1:
            return _contains(labels, key, values[0])
        case Operator.IN:
            # `?` first: it is what the index can answer; `->>` alone would need every row.
            return sa.and_(labels.has_key(key), labels[key].astext.in_(values))
        case Operator.NOT_EQUALS | Operator.NOT_IN:
            # Kubernetes: objects without the key match '!=' and 'notin'.
            return sa.or_(sa.not_(labels.has_key(key)), labels[key].astext.not_in(values))
        case Operator.GT | Operator.LT:
            return _integer_clause(labels, requirement)
    raise AssertionError(requirement.operator)  # pragma: no cover - the match above is exhaustive


def _contains(labels: ColumnElement[Any], key: str, value: str) -> ColumnElement[bool]:
    # Containment rather than `->> =`: `@>` is what a GIN index (either operator class) serves.
    return labels.contains({key: value})


def _integer_clause(labels: ColumnElement[Any], requirement: Requirement) -> ColumnElement[bool]:
    """'>' and '<': the label must exist and hold an int64, as Kubernetes reads it with ParseInt.

    The range test replaces both the comparison and ParseInt's overflow check: '> n' is 'in [n+1, max]'
    and '< n' is 'in [min, n-1]'. The cast sits inside CASE, which PostgreSQL evaluates only for values
    that passed the pattern, so no stored label can make the query fail."""
    bound = int(requirement.values[0])
    if requirement.operator is Operator.GT:
        low, high = bound + 1, _INT64_MAX
    else:
        low, high = _INT64_MIN, bound - 1
    value = labels[requirement.key].astext
    in_range = sa.cast(value, sa.Numeric).between(_numeric(low), _numeric(high))
    guarded = sa.case((value.regexp_match(_INT64_SYNTAX), in_range), else_=sa.false())
    return sa.and_(labels.has_key(requirement.key), guarded)


def _numeric(number: int) -> ColumnElement[Decimal]:
    return sa.literal(Decimal(number), sa.Numeric())
