"""Typed request bodies: JSON read with bounded depth, checked by pydantic, every error named.

Each record kind declares its body as a `Body` subclass next to the record's other rules
(jobs.py, sources.py, servers.py, events.py); this module holds what they share: strict
types (`"false"` is not a boolean, NaN is not a number), unknown fields refused, bounded
strings, and the translation of pydantic's errors into `{field: problem}`.
"""

import json
import re
from typing import Annotated, Any, ClassVar, get_args

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from strmsync.errors import ConfigError

MAX_DEPTH = 32
# Strings are bounded by what they hold; nothing strmsync stores needs more.
Name = Annotated[str, StringConstraints(max_length=64)]
Word = Annotated[str, StringConstraints(max_length=64)]
PathText = Annotated[str, StringConstraints(max_length=4096)]
UrlText = Annotated[str, StringConstraints(max_length=2048)]
SecretText = Annotated[str, StringConstraints(max_length=4096)]
LongText = Annotated[str, StringConstraints(max_length=65536)]
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


class InvalidBody(ConfigError):
    """A request body (or form) with one or more invalid fields: `errors` maps each to why."""

    def __init__(self, errors: dict[str, str]):
        # In field order, as the API's JSON shows them: the message names the first.
        self.errors = dict(sorted(errors.items()))
        first = next(iter(self.errors))
        super().__init__(f"{first}: {self.errors[first]}")


class Body(BaseModel):
    """A request body strmsync owns: strict types, no unknown fields, finite numbers."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False,
                              str_max_length=65536)
    # What a field the body does not have is called in an error ("not a job field").
    unknown_field: ClassVar[str] = "not a known field"


def parse_json(raw: bytes, what: str = "body") -> Any:
    """The JSON value in `raw`; a ConfigError when it is not JSON, too deep, or has NaN."""
    if not raw.strip():
        return None
    depth = _depth(raw)
    if depth > MAX_DEPTH:
        raise ConfigError(f"{what}: nested {depth} levels deep; at most {MAX_DEPTH}")
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise ConfigError(f"{what}: not valid JSON ({exc})") from None


def _depth(raw: bytes) -> int:
    # Measured on the bytes before parsing: json.loads recurses per level and a deep enough
    # body raises RecursionError from inside the parser (or exhausts the stack first).
    depth = deepest = 0
    for match in _BRACKETS.finditer(_STRINGS.sub(b'""', raw)):
        depth += 1 if match.group() in (b"[", b"{") else -1
        deepest = max(deepest, depth)
    return deepest


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def validated(model: type[Body], data: Any, prefix: str = "") -> Body:
    """`data` as a `model`; InvalidBody naming every field that is wrong."""
    if not isinstance(data, dict):
        raise InvalidBody({prefix.rstrip(".") or "body": "expected a JSON object"})
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidBody(field_errors(exc, prefix, model)) from None


def typed_fields(model: type[Body], data: Any) -> tuple[dict, dict[str, str]]:
    """`(fields, errors)`: the body's well-typed fields as `model` reads them, and every
    field that is not; so a caller's own checks can add theirs and report all at once."""
    if not isinstance(data, dict):
        raise InvalidBody({"body": "expected a JSON object"})
    try:
        return model.model_validate(data).model_dump(exclude_unset=True), {}
    except ValidationError as exc:
        errors = field_errors(exc, model=model)
        wrong = {error["loc"][0] for error in exc.errors() if error["loc"]}
    # Fields are typed one by one (no validator spans two), so the rest validates alone;
    # an object field with a wrong member keeps its right ones (`options`).
    rest = {name: value for name, value in data.items()
            if name not in wrong and name in model.model_fields}
    fields = model.model_validate(rest).model_dump(exclude_unset=True)
    for name in wrong & set(model.model_fields):
        nested = _body_in(model.model_fields[name].annotation)
        if nested is not None and isinstance(data[name], dict):
            fields[name] = typed_fields(nested, data[name])[0]
    return fields, errors


def field_errors(exc: ValidationError, prefix: str = "",
                 model: type[Body] | None = None) -> dict[str, str]:
    """`{dotted.field: problem}` for each error pydantic found (the first per field)."""
    errors: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        name = prefix + _location(error["loc"]) if error["loc"] else prefix.rstrip(".")
        if error["type"] == "extra_forbidden" and model is not None:
            problem = _owner(model, error["loc"]).unknown_field
        else:
            problem = _problem(error)
        errors.setdefault(name or "body", problem)
    return errors


def _owner(model: type[Body], loc: tuple) -> type[Body]:
    # The body an unknown field was found in: `options.fast` is an unknown *option*.
    for part in loc[:-1]:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        nested = _body_in(field.annotation) if field is not None else None
        if nested is not None:
            model = nested
    return model


def _body_in(annotation) -> type[Body] | None:
    if isinstance(annotation, type) and issubclass(annotation, Body):
        return annotation
    for arg in get_args(annotation):
        found = _body_in(arg)
        if found is not None:
            return found
    return None


def _location(loc: tuple) -> str:
    # Union members add their type name to the location (`str`, `list[...]`); a person
    # thinks in fields and list positions only.
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not _is_type_tag(part):
            out += f".{part}" if out else str(part)
    return out


def _is_type_tag(part: str) -> bool:
    # Field names are identifiers; pydantic's union tags are `str`, `list[int]`,
    # `constrained-str`, `function-after[...]`.
    return part in ("str", "int", "float", "bool", "dict", "list") or "[" in part \
        or "-" in part


PROBLEMS = {
    "missing": "required",
    "extra_forbidden": "not a known field",
    "bool_type": "expected true or false",
    "int_type": "expected a whole number",
    "float_type": "expected a number",
    "string_type": "expected a string",
    "list_type": "expected a list",
    "dict_type": "expected an object",
    "model_type": "expected an object",
    "model_attributes_type": "expected an object",
    "finite_number": "expected a finite number",
}

BOUNDS = {"greater_than_equal": "must be at least {}", "less_than_equal": "must be at most {}",
          "greater_than": "must be more than {}", "less_than": "must be less than {}",
          "string_too_short": "at least {} characters", "too_short": "at least {} items"}


def _problem(error: dict) -> str:
    kind = error["type"]
    if kind in PROBLEMS:
        return PROBLEMS[kind]
    ctx = error.get("ctx") or {}
    if kind == "string_too_long":
        return f"at most {ctx['max_length']} characters"
    if kind == "too_long":
        return f"at most {ctx['max_length']} items"
    if kind in BOUNDS:
        return BOUNDS[kind].format(*ctx.values())
    if kind == "literal_error":
        choices = ctx["expected"].replace("'", "").replace(" or ", ", ")
        return f"must be one of {choices}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    message = error["msg"]
    return message[0].lower() + message[1:]


def require(values: dict, names: tuple, errors: dict) -> None:
    """Add "required" for each of `names` that is missing or empty in `values`."""
    for name in names:
        value = values.get(name)
        if value is None or value == "":
            errors.setdefault(name, "required")


def collect(errors: dict, name: str, check, *args):
    """`check(*args)`, with a ConfigError it raises put into `errors` (None returned then)."""
    try:
        return check(*args)
    except InvalidBody as exc:
        for key, problem in exc.errors.items():
            errors.setdefault(key, problem)
    except ConfigError as exc:
        field, sep, problem = str(exc).partition(": ")
        errors.setdefault(field if sep and " " not in field else name, problem or str(exc))
    return None


def raise_errors(errors: dict) -> None:
    """InvalidBody for the collected errors, if any."""
    if errors:
        raise InvalidBody(errors)
