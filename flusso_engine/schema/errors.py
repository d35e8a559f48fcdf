"""Config problems: what is wrong, where (file, key path, line), and how to fix it.

Every invalid input becomes one `InvalidConfig` listing all its problems, so a user fixes a file
in one round instead of one error per run. Validation errors from pydantic are translated here
so that no message ever speaks pydantic (`extra_forbidden`, `loc`) to the user.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from flusso_engine.errors import ConfigError

#: A position in parsed data: mapping keys and list indexes, outermost first.
KeyPath = tuple[str | int, ...]


class RuleError(ValueError):
    """A rule the file format cannot express was broken; raised inside model validators.

    Carries its own fix so the translated problem tells the user what to write instead.
    """

    def __init__(self, what: str, fix: str) -> None:
        super().__init__(what)
        self.what = what
        self.fix = fix


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one key of one file."""

    file: Path
    key: str
    what: str
    fix: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.what}. Fix: {self.fix}"


class KeyGuide(Protocol):
    """What a file format accepts at a place, so an unknown or missing key gets a precise fix."""

    def allowed_keys(self, path: KeyPath, mapping: Mapping[str, Any]) -> Sequence[str]:
        """The keys the mapping at `path` may hold."""
        ...

    def hint(self, path: KeyPath, mapping: Mapping[str, Any], key: str) -> str | None:
        """A specific fix for `key` being wrong or missing there, if the format has one."""
        ...


class InvalidConfig(ConfigError):
    """The config or a schema it names is invalid; `problems` lists every finding."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def problem(file: Path, key: KeyPath | str, what: str, fix: str, line: int | None = None) -> InvalidConfig:
    """A single-problem error, for checks made outside a pydantic model."""
    key_text = key if isinstance(key, str) else render_key(key)
    return InvalidConfig([Problem(file, key_text, what, fix, line)])


def render_key(path: KeyPath) -> str:
    """`('fields', 2, 'limit')` → `fields[2].limit`: how a user finds the key in the file."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ` (did you mean `x`?)` hint when a close spelling exists, else empty."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}`?)" if close else ""


def from_validation_error(
    error: ValidationError, file: Path, data: Any, guide: KeyGuide, lines: Mapping[KeyPath, int] | None = None
) -> InvalidConfig:
    """Translate pydantic's errors into problems located in the user's own data.

    `data` is the parsed document, used to drop the union-member names pydantic puts into
    error locations; `lines` maps key paths to source lines where the format gives them.
    """
    problems = []
    for item in error.errors(include_url=False):
        path = _data_path(data, item["loc"])
        what, fix = _explain(item, path, data, guide)
        problems.append(Problem(file, render_key(path), what, fix, _line_of(path, lines or {})))
    return InvalidConfig(_unique(problems))


def _unique(problems: list[Problem]) -> list[Problem]:
    """Problems in first-seen order, once each (union members can report the same one twice)."""
    return list(dict.fromkeys(problems))


def _data_path(data: Any, loc: tuple[str | int, ...]) -> KeyPath:
    """Follow `loc` through `data`, dropping the parts that name a union member, not a key.

    Union members are tagged with names holding a space (fields.py, config_toml.py), so they never
    collide with a user's key. A missing or unknown key is the last part and is kept.
    """
    path: list[str | int] = []
    node = data
    for position, part in enumerate(loc):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif not (position == len(loc) - 1 and isinstance(part, str) and " " not in part and "[" not in part):
            continue
        path.append(part)
    return tuple(path)


def _line_of(path: KeyPath, lines: Mapping[KeyPath, int]) -> int | None:
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def _value_at(data: Any, path: KeyPath) -> Any:
    node = data
    for part in path:
        node = node[part]
    return node


def _explain(item: Any, path: KeyPath, data: Any, guide: KeyGuide) -> tuple[str, str]:
    kind = item["type"]
    key = str(path[-1]) if path and isinstance(path[-1], str) else "value"
    ctx = item.get("ctx") or {}
    parent = _value_at(data, path[:-1]) if path else None
    if kind in ("extra_forbidden", "missing") and isinstance(parent, Mapping):
        allowed = list(guide.allowed_keys(path[:-1], parent))
        specific = guide.hint(path[:-1], parent, key)
        if kind == "missing":
            return f"missing required key `{key}`", specific or f"add `{key}`"
        listing = f" (allowed here: {', '.join(allowed)})" if allowed else ""
        return (f"unknown key `{key}`{did_you_mean(key, allowed)}", specific or f"remove `{key}` or correct its spelling{listing}")
    if kind in ("value_error", "assertion_error") and isinstance(ctx.get("error"), RuleError):
        rule: RuleError = ctx["error"]
        return rule.what, rule.fix
    if kind == "literal_error":
        expected = ctx.get("expected", "")
        got = item.get("input")
        hint = did_you_mean(str(got), [e.strip(" '") for e in expected.replace(" or ", ", ").split(",")])
        return (f"`{key}` is {got!r}, which is not accepted{hint}", f"use one of {expected}")
    if kind == "union_tag_invalid" or kind == "union_tag_not_found":
        tags = ctx.get("expected_tags", "")
        return (f"`{key}` has an unknown or missing `type`", f"set `type` to one of {tags}")
    if kind in ("bool_type", "bool_parsing"):
        return (f"`{key}` must be true or false, got {item.get('input')!r}", "write `true` or `false`, unquoted")
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return (f"`{key}` must be a whole number, got {item.get('input')!r}", f"write `{key}` as an unquoted integer")
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        sign = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
        bound = next(f"{sign[k]} {v}" for k, v in ctx.items() if k in sign)
        return (f"`{key}` is {item.get('input')!r}, out of range", f"use a value {bound}")
    if kind in ("string_type", "list_type", "dict_type", "model_type", "float_type", "tuple_type"):
        wanted = {"string_type": "a string", "list_type": "a list", "dict_type": "a mapping",
                  "model_type": "a mapping", "float_type": "a number", "tuple_type": "a list"}[kind]
        return (f"`{key}` must be {wanted}, got {item.get('input')!r}", f"write `{key}` as {wanted}")
    return (f"`{key}`: {item['msg']}", "see `flusso schema config` / `flusso schema index` for the accepted shape")
