"""The building blocks both file formats share: the strict base model, identifiers, scalar values.

Identifiers are sanitised the way the reference does (trim; Postgres names also lowercased, as
Postgres folds unquoted names) so a config that worked there loads unchanged here.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict

from flusso_engine.schema.errors import RuleError

_PG_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_FIELD_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_MAX_IDENTIFIER = 63


class Model(BaseModel):
    """Immutable, and unknown keys are errors: a typo must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)


def _pg_identifier(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    name = value.strip().lower()
    if not _PG_IDENTIFIER.fullmatch(name) or len(name) > _MAX_IDENTIFIER:
        raise RuleError(
            f"{value!r} is not a valid Postgres identifier",
            "use letters, digits and `_` only, starting with a letter or `_`, at most 63 characters",
        )
    return name


def _field_name(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    name = value.strip()
    if not _FIELD_NAME.fullmatch(name) or len(name) > _MAX_IDENTIFIER:
        raise RuleError(
            f"{value!r} is not a valid field name",
            "use letters, digits and `_` only (case is kept), starting with a letter or `_`, at most 63 characters",
        )
    return name


#: A table, column, schema, index or sink name: trimmed, lowercased, `^[a-z_][a-z0-9_]*$`.
Identifier = Annotated[
    str, Strict(), BeforeValidator(_pg_identifier), Field(pattern=r"^[a-z_][a-z0-9_]*$", max_length=63)
]
#: A document key: trimmed, case kept (camelCase keys are common), `^[a-zA-Z_][a-zA-Z0-9_]*$`.
FieldName = Annotated[
    str, Strict(), BeforeValidator(_field_name), Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$", max_length=63)
]

StrictBool = Annotated[bool, Strict()]
StrictInt = Annotated[int, Strict()]
StrictStr = Annotated[str, Strict()]
NonEmptyStr = Annotated[str, Strict(), Field(min_length=1)]

#: A scalar as YAML spells it: filter operands and column defaults keep their YAML type, so a
#: number stays a number and a date a date until the builder binds it to the column's type.
Scalar = StrictBool | StrictInt | Annotated[float, Strict()] | StrictStr | dt.datetime | dt.date
