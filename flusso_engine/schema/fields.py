"""The type-first field grammar: `- <type>: <document key>` plus the siblings that type takes.

Each type key has its own model whose `name` is read from that key, so unknown siblings are
caught per type and the generated JSON Schema describes exactly what an editor should offer.
Union members are tagged `"<type> field"` (with a space) so error locations can tell a member
tag from a user's key.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import BeforeValidator, Discriminator, Field, Tag, create_model, model_validator

from flusso_engine.schema.errors import RuleError, did_you_mean
from flusso_engine.schema.filters import Filters, OrderBy, Through
from flusso_engine.schema.primitives import (
    FieldName, Identifier, Model, NonEmptyStr, Scalar, StrictBool, StrictInt, StrictStr,
)
from flusso_engine.schema.types import ID_ELEMENT_TYPES, MAP_VALUE_TYPES, SCALAR_TYPES, ScalarType

Options = dict[str, Any]
Transform = Literal["lowercase", "trim"]

_REQUIRED = "Whether the field may be null: `true` makes it non-null. Mandatory."
_COLUMN = "The source column; defaults to the field name (lowercased)."
_OPTIONS = "Extra OpenSearch mapping properties merged beside the derived type; they win over defaults."


def _scalar_default(value: Any) -> Any:
    if isinstance(value, (list, tuple, dict, bytes)):
        raise RuleError(
            f"`default` must be a scalar, got {type(value).__name__}",
            "use a string, number, boolean or date as the default",
        )
    return value


DefaultValue = Annotated[Scalar, BeforeValidator(_scalar_default)]


class FieldBase(Model):
    """What every field shares: its type key (`kind`) and the document key it writes."""

    kind: ClassVar[str]
    name: FieldName


class ColumnSourced(FieldBase):
    """A field read from one column of the current row; `column` defaults to the field name."""

    column: Identifier = Field(None, description=_COLUMN)  # type: ignore[assignment]

    @model_validator(mode="before")
    @classmethod
    def _default_column(cls, data: Any) -> Any:
        if isinstance(data, dict) and "column" not in data and cls._reads_single_column(data):
            named = data.get(cls.kind)
            if isinstance(named, str):
                return {**data, "column": named}
        return data

    @classmethod
    def _reads_single_column(cls, data: dict[str, Any]) -> bool:
        return True


class ScalarField(ColumnSourced):
    """A scalar leaf; the concrete classes (one per scalar type) are generated below."""

    required: StrictBool = Field(description=_REQUIRED)
    options: Options = Field(default_factory=dict, description=_OPTIONS)
    transforms: tuple[Transform, ...] = Field(default=(), description="Applied in order: `lowercase`, `trim`.")
    default: DefaultValue | None = Field(default=None, description="Scalar a null column is coalesced to.")


class EnumField(ScalarField):
    """A closed set of strings; listing `variants` also gives it an order to sort by."""

    kind: ClassVar[str] = "enum"
    name: FieldName = Field(alias="enum")
    variants: tuple[StrictStr, ...] | None = Field(default=None, description="The values, in sort order.")

    @model_validator(mode="after")
    def _variants_are_distinct(self) -> EnumField:
        seen: set[str] = set()
        for variant in self.variants or ():
            if not variant.strip() or "=>" in variant or "\n" in variant:
                raise RuleError(f"enum variant {variant!r} is not usable", "use non-blank variants without `=>` or line breaks")
            if variant in seen:
                raise RuleError(f"enum variant {variant!r} is listed twice", "list each variant once")
            seen.add(variant)
        return self


class CustomField(ColumnSourced):
    """An explicit Postgres/OpenSearch pair for what the named types do not cover."""

    kind: ClassVar[str] = "custom"
    name: FieldName = Field(alias="custom")
    postgres: tuple[NonEmptyStr, ...] = Field(min_length=1, description="Postgres types the column may have.")
    opensearch: NonEmptyStr = Field(description="The OpenSearch mapping type, used verbatim.")
    required: StrictBool = Field(description=_REQUIRED)
    options: Options = Field(default_factory=dict, description=_OPTIONS)
    default: DefaultValue | None = None


class GeoField(ColumnSourced):
    """A geo_point, from a `lat` + `lon` column pair or from one JSON/text column."""

    kind: ClassVar[str] = "geo"
    name: FieldName = Field(alias="geo")
    required: StrictBool = Field(description=_REQUIRED)
    lat: Identifier | None = Field(default=None, description="Latitude column (two-column form).")
    lon: Identifier | None = Field(default=None, description="Longitude column (two-column form).")
    options: Options = Field(default_factory=dict, description=_OPTIONS)

    @classmethod
    def _reads_single_column(cls, data: dict[str, Any]) -> bool:
        return "lat" not in data and "lon" not in data

    @model_validator(mode="before")
    @classmethod
    def _one_source(cls, data: Any) -> Any:
        if isinstance(data, dict):
            pair = ("lat" in data, "lon" in data)
            if pair in ((True, False), (False, True)):
                raise RuleError("a geo point needs both `lat` and `lon`", "give both coordinate columns, or one `column`")
            if all(pair) and "column" in data:
                raise RuleError("a geo point reads `lat`+`lon` or one `column`, not both", "remove `column` or `lat`/`lon`")
        return data


class MapField(ColumnSourced):
    """A dynamic-key object over a json/jsonb column whose values share one leaf type."""

    kind: ClassVar[str] = "map"
    name: FieldName = Field(alias="map")
    values: ScalarType = Field(description="The leaf type of every value.")
    required: StrictBool = Field(description=_REQUIRED)
    options: Options = Field(default_factory=dict, description=_OPTIONS)

    @model_validator(mode="after")
    def _values_are_leaves(self) -> MapField:
        if self.values not in MAP_VALUE_TYPES:
            raise RuleError(f"a map cannot hold `{self.values}` values", f"use one of: {', '.join(MAP_VALUE_TYPES)}")
        return self


class ObjectField(FieldBase):
    """Columns of the same row grouped under one key; never null."""

    kind: ClassVar[str] = "object"
    name: FieldName = Field(alias="object")
    fields: tuple[FieldSpec, ...]
    options: Options = Field(default_factory=dict, description=_OPTIONS)


class JoinField(FieldBase):
    """A related table folded in; each verb names which table holds the key."""

    table: Identifier = Field(description="The related table.")
    primary_key: Identifier = Field(description="The related table's primary key.")
    fields: tuple[FieldSpec, ...]
    filters: Filters = ()
    options: Options = Field(default_factory=dict, description=_OPTIONS)

    @property
    def to_many(self) -> bool:
        return False


class BelongsToField(JoinField, ColumnSourced):
    """This row's `column` points at the related row's primary key."""

    kind: ClassVar[str] = "belongs_to"
    name: FieldName = Field(alias="belongs_to")
    required: StrictBool = Field(default=False, description="`true` maps the object non-null.")


class HasOneField(JoinField):
    """One related row whose `foreign_key` points back here (the first by `order_by`)."""

    kind: ClassVar[str] = "has_one"
    name: FieldName = Field(alias="has_one")
    foreign_key: Identifier = Field(description="The related table's column pointing back at this row.")
    order_by: tuple[OrderBy, ...] = ()
    required: StrictBool = Field(default=False, description="`true` maps the object non-null.")


class HasManyField(JoinField):
    """Every related row whose `foreign_key` points back here, as a nested array."""

    kind: ClassVar[str] = "has_many"
    name: FieldName = Field(alias="has_many")
    foreign_key: Identifier = Field(description="The related table's column pointing back at this row.")
    order_by: tuple[OrderBy, ...] = ()
    limit: StrictInt | None = Field(default=None, ge=1, description="At most this many rows.")

    @property
    def to_many(self) -> bool:
        return True


class ManyToManyField(JoinField):
    """Related rows connected through a junction table, as a nested array."""

    kind: ClassVar[str] = "many_to_many"
    name: FieldName = Field(alias="many_to_many")
    through: Through
    order_by: tuple[OrderBy, ...] = ()
    limit: StrictInt | None = Field(default=None, ge=1, description="At most this many rows.")

    @property
    def to_many(self) -> bool:
        return True


class AggregateField(FieldBase):
    """A rollup of a related table, keyed by exactly one of `foreign_key` or `through`."""

    table: Identifier = Field(description="The aggregated table.")
    foreign_key: Identifier | None = Field(default=None, description="The aggregated table's column pointing back here.")
    through: Through | None = None
    filters: Filters = ()
    options: Options = Field(default_factory=dict, description=_OPTIONS)

    @model_validator(mode="after")
    def _one_key(self) -> AggregateField:
        if (self.foreign_key is None) == (self.through is None):
            raise RuleError(
                f"a `{self.kind}` aggregate needs exactly one of `foreign_key` or `through`",
                "give `foreign_key` (the related table points back here) or `through` (a junction), not both",
            )
        return self


class CountField(AggregateField):
    kind: ClassVar[str] = "count"
    name: FieldName = Field(alias="count")


class AvgField(AggregateField):
    kind: ClassVar[str] = "avg"
    name: FieldName = Field(alias="avg")
    column: Identifier = Field(description="The column to average.")


class ValueAggregate(AggregateField):
    """sum/min/max: the result has the aggregated column's type, so it is declared."""

    column: Identifier = Field(description="The column to reduce.")
    value_type: ScalarType = Field(description="The result type (the column's flusso type).")


class IdsField(AggregateField):
    """The related table's primary keys as a flat array."""

    kind: ClassVar[str] = "ids"
    name: FieldName = Field(alias="ids")
    element_type: ScalarType = Field(description="Type of each collected key.")

    @model_validator(mode="after")
    def _key_like_element(self) -> IdsField:
        if self.element_type not in ID_ELEMENT_TYPES:
            raise RuleError(f"`ids` cannot collect `{self.element_type}` keys", f"use one of: {', '.join(ID_ELEMENT_TYPES)}")
        return self


class ConstantField(FieldBase):
    """A fixed value written into every document."""

    kind: ClassVar[str] = "constant"
    name: FieldName = Field(alias="constant")
    value: Any = None


def _tagged_model(base: type[FieldBase], tag: str) -> type[FieldBase]:
    model = create_model(  # type: ignore[call-overload]
        f"{tag.title().replace('_', '')}Field", __base__=base, __module__=__name__,
        name=(FieldName, Field(alias=tag)),
    )
    model.kind = tag
    return model


SCALAR_FIELDS: dict[str, type[FieldBase]] = {
    t: (EnumField if t == "enum" else _tagged_model(ScalarField, t)) for t in SCALAR_TYPES
}
AGGREGATE_FIELDS: dict[str, type[FieldBase]] = {
    "count": CountField, "avg": AvgField, "ids": IdsField,
    **{op: _tagged_model(ValueAggregate, op) for op in ("sum", "min", "max")},
}
JOIN_FIELDS: dict[str, type[FieldBase]] = {
    m.kind: m for m in (BelongsToField, HasOneField, HasManyField, ManyToManyField)
}
#: Every type key, in the order the reference documents them.
FIELD_MODELS: dict[str, type[FieldBase]] = {
    **SCALAR_FIELDS, "custom": CustomField, "geo": GeoField, "object": ObjectField, "map": MapField,
    **JOIN_FIELDS, **AGGREGATE_FIELDS, "constant": ConstantField,
}


def _field_tag(value: Any) -> str | None:
    if isinstance(value, FieldBase):
        return f"{value.kind} field"
    tags = [key for key in value if key in FIELD_MODELS] if isinstance(value, dict) else []
    return f"{tags[0]} field" if len(tags) == 1 else None


def _one_type_key(value: Any) -> Any:
    """The grammar rule the union cannot state: exactly one type key per field."""
    if isinstance(value, FieldBase):
        return value
    if not isinstance(value, dict):
        raise RuleError(f"a field must be a mapping, got {value!r}", "write a field as `- <type>: <name>` plus its keys")
    tags = [key for key in value if key in FIELD_MODELS]
    if len(tags) > 1:
        raise RuleError(
            f"field has more than one type key: {' and '.join(f'`{t}`' for t in tags)}",
            "keep exactly one type key per field; split it into separate fields if you meant several",
        )
    if not tags:
        keys = ", ".join(f"`{k}`" for k in value) or "none"
        hint = "".join(did_you_mean(str(k), FIELD_MODELS) for k in value)[:80]
        raise RuleError(
            f"field has no type key (its keys: {keys}){hint}",
            f"start the field with one type key: {', '.join(FIELD_MODELS)}",
        )
    return value


FieldSpec = Annotated[
    Union[tuple(Annotated[model, Tag(f"{tag} field")] for tag, model in FIELD_MODELS.items())],  # type: ignore[misc]  # noqa: UP007
    Discriminator(_field_tag),
    BeforeValidator(_one_type_key),
]

for _model in {*FIELD_MODELS.values(), ObjectField, JoinField}:
    _model.model_rebuild()


def allowed_keys(tag: str) -> list[str]:
    """The keys a field of this type accepts, type key first: for unknown-key hints."""
    model = FIELD_MODELS[tag]
    return [tag, *(info.alias or key for key, info in model.model_fields.items() if key != "name")]
