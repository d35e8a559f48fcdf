"""Row filters, orderings and junctions: the clauses joins, aggregates and root selection share."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Discriminator, Field, Tag, model_validator

from flusso_engine.schema.errors import RuleError
from flusso_engine.schema.primitives import Identifier, Model, NonEmptyStr, Scalar

NullOp = Literal["is_null", "is_not_null"]
ValueOp = Literal["eq", "neq", "lt", "lte", "gt", "gte", "like", "ilike", "in", "not_in", "between"]

_NULL_OPS = ("is_null", "is_not_null")
_LIST_OPS = ("in", "not_in")


class RawFilter(Model):
    """Verbatim SQL, for conditions the structured forms cannot say; not alias-qualified."""

    raw: NonEmptyStr = Field(description="SQL condition inserted as written.")


class NullFilter(Model):
    column: Identifier
    op: NullOp


class ValueFilter(Model):
    """A comparison whose operand keeps its YAML type; bound as a parameter cast to the column's type."""

    column: Identifier
    op: ValueOp
    value: Scalar | tuple[Scalar, ...] | None = Field(
        default=None, description="A scalar; a list for `in`/`not_in`; exactly two values for `between`."
    )

    @model_validator(mode="after")
    def _value_matches_op(self) -> ValueFilter:
        op, value = self.op, self.value
        if value is None:
            raise RuleError(f"filter op `{op}` needs a `value`", f"add `value:` to the `{op}` filter")
        if op == "between" and (not isinstance(value, tuple) or len(value) != 2):
            raise RuleError("`between` takes exactly two values", "write `value: [lower, upper]`")
        if op in _LIST_OPS and (not isinstance(value, tuple) or not value):
            raise RuleError(f"`{op}` takes a non-empty list", f"write `value: [a, b, ...]` for `{op}`")
        if op not in _LIST_OPS and op != "between" and isinstance(value, tuple):
            raise RuleError(f"`{op}` takes a single value, not a list", "give one scalar, or use `in` for a list")
        return self


def _filter_form(value: Any) -> str | None:
    if isinstance(value, dict):
        if "raw" in value:
            return "raw filter"
        return "null filter" if value.get("op") in _NULL_OPS else "value filter"
    return {RawFilter: "raw filter", NullFilter: "null filter", ValueFilter: "value filter"}.get(type(value))


def _filter_shape(value: Any) -> Any:
    if not isinstance(value, dict):
        raise RuleError(
            f"a filter must be a mapping, got {value!r}",
            "write `{raw: \"...\"}`, `{column: c, op: is_null}` or `{column: c, op: eq, value: v}`",
        )
    return value


Filter = Annotated[
    Annotated[RawFilter, Tag("raw filter")] | Annotated[NullFilter, Tag("null filter")]
    | Annotated[ValueFilter, Tag("value filter")],
    Discriminator(_filter_form),
    BeforeValidator(_filter_shape),
]
Filters = tuple[Filter, ...]


class OrderBy(Model):
    column: Identifier
    direction: Literal["asc", "desc"] = "asc"


class Through(Model):
    """A junction table: `left_key` points at the parent row, `right_key` at the related row."""

    table: Identifier
    left_key: Identifier
    right_key: Identifier
