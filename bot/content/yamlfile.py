"""Reading YAML content files with errors that name the file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bot.problems import Problem, pydantic_problems

M = TypeVar("M", bound=BaseModel)


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys, which PyYAML would otherwise drop silently."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode,
                       deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}'", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


def _construct_timestamp(loader: _UniqueKeyLoader, node: yaml.ScalarNode) -> object:
    # PyYAML raises a bare ValueError for an impossible date such as 2027-02-30,
    # which would lose the file and line; re-raise it as a YAML error that has both.
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"'{node.value}' is not a real date ({exc})", node.start_mark) from None


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def load_yaml(path: Path) -> tuple[Any, list[Problem]]:
    """Parse one YAML file; on failure return (None, [problem naming file and line])."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(str(path), f"cannot be read ({exc.__class__.__name__})",
                              "check that the file exists and is UTF-8 text")]
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader), []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return None, [Problem(f"{path}{line}", f"is not valid YAML: {reason}",
                              "fix the indentation or quoting near that line")]


def validate_mapping(where: str, data: Any, model: type[M],
                     expected: str) -> tuple[M | None, list[Problem]]:
    """Validate one YAML mapping into `model`; problems name `where` and each bad field.

    `expected` describes the fields for the message when `data` is not a mapping at all.
    """
    if not isinstance(data, dict):
        return None, [Problem(where, f"must be a mapping of fields ({expected})",
                              "see the schema in the content folder's README")]
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, pydantic_problems(where, exc)
