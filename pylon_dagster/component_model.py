"""The model Dagster validates a component's `defs.yaml` attributes with, made for people.

Dagster derives the model from the component's fields, but drops the description of a field that
has a default, and reports pydantic's errors as they come: a misspelled attribute twice (the
unknown name, and the attribute it was meant to be as missing), a union's members once each, and
the values it was given, secrets included. `attributes_model(derived, component, secret)` is the
same model with every field described by the component's field docstring (what `dg utils
inspect-component` and an editor with the component's JSON schema show), and whose errors name
each mistake once, an unknown attribute with the closest known one, never showing a value of a
`secret` attribute or of an unknown one (it may be a token under a misspelled name).
"""

from __future__ import annotations

import copy
import difflib
import functools
import typing
from collections.abc import Callable, Collection
from typing import Any

from pydantic import BaseModel, ValidationError, create_model, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import InitErrorDetails
from pydantic_core.core_schema import ErrorType

PYDANTIC_ERROR_TYPES = frozenset(typing.get_args(ErrorType))
"""The error types pydantic can raise again by name; a validator's own type cannot be."""
NOT_SHOWN = "(not shown)"


@functools.cache
def attributes_model(
    derived: type[BaseModel], component: type[BaseModel], secret: frozenset[str]
) -> type[BaseModel]:
    """`derived` (Dagster's model of `component`), validating the same, with the descriptions of
    `component`'s fields and its errors rewritten by `attribute_errors`."""

    def one_error_per_mistake(cls: type[BaseModel], data: Any, handler: Any) -> Any:
        return with_attribute_errors(data, handler, cls.model_fields, secret)

    validator = model_validator(mode="wrap")(classmethod(one_error_per_mistake))
    described = {
        name: (field.annotation, _described(field, documented))
        for name, field in derived.model_fields.items()
        if (documented := component.model_fields[name].description) and not field.description
    }
    return create_model(
        derived.__name__,
        __base__=derived,
        __module__=derived.__module__,
        __validators__={"one_error_per_mistake": validator},
        **described,
    )


def with_attribute_errors(
    data: Any, handler: Callable[[Any], Any], known: Collection[str], secret: Collection[str]
) -> Any:
    """`handler(data)` (a wrap validator's), its `ValidationError` rewritten by
    `attribute_errors`."""
    try:
        return handler(data)
    except ValidationError as error:
        raise attribute_errors(error, known, secret) from None


def attribute_errors(
    error: ValidationError, known: Collection[str], secret: Collection[str]
) -> ValidationError:
    """`error` with one error an attribute (or a list item of it), an unknown attribute reported
    as itself with the closest of `known` (which is then not also reported missing), and no
    value of an unknown or `secret` attribute, nor of the attributes as a whole."""
    details = error.errors()
    guesses = {
        str(detail["loc"][0]): closest(str(detail["loc"][0]), known)
        for detail in details
        if detail["type"] == "extra_forbidden" and detail["loc"]
    }
    meant = {guess for guess in guesses.values() if guess}
    rewritten: list[InitErrorDetails] = []
    reported: set[tuple[int | str, ...]] = set()
    for detail in details:
        name = str(detail["loc"][0]) if detail["loc"] else ""
        # A union's members each report the same value (`int | str`: one error for `int`, one
        # for `str`): the first is kept; a list's items are told apart by their index.
        loc = (name, *(part for part in detail["loc"][1:] if isinstance(part, int)))
        if (detail["type"] == "missing" and name in meant) or _reported(loc, reported):
            continue
        reported.add(loc)
        if name in guesses:
            guess = guesses[name]
            hint = f"did you mean {guess!r}?" if guess else f"known: {', '.join(sorted(known))}"
            message = f"{name!r} is not an attribute of this component; {hint}"
            rewritten.append(_value_error(loc, message))
        elif detail["type"] == "missing":
            rewritten.append(_value_error(loc, f"{name!r} is required"))
        elif name in secret or name not in known:
            rewritten.append(_value_error(loc, f"{detail['msg']} (the value is not shown)"))
        elif detail["type"] not in PYDANTIC_ERROR_TYPES:
            rewritten.append(_value_error(loc, detail["msg"], detail["input"]))
        else:
            rewritten.append(
                InitErrorDetails(
                    type=detail["type"], loc=loc, input=detail["input"], ctx=detail.get("ctx", {})
                )
            )
    return ValidationError.from_exception_data(error.title, rewritten)


def closest(name: str, known: Collection[str]) -> str | None:
    """The one of `known` that `name` is most likely a misspelling of, if any is close."""
    found = difflib.get_close_matches(name, list(known), n=1)
    return found[0] if found else None


def _reported(loc: tuple[int | str, ...], reported: set[tuple[int | str, ...]]) -> bool:
    """Whether an error at `loc` repeats one `reported`: the same place, or the attribute as a
    whole and one of its items."""
    return loc in reported or any(
        seen[0] == loc[0] and (len(seen) == 1 or len(loc) == 1) for seen in reported
    )


def _value_error(
    loc: tuple[int | str, ...], message: str, shown: Any = NOT_SHOWN
) -> InitErrorDetails:
    """A `value_error` at `loc` saying `message`, its input `shown` (by default, not shown)."""
    return InitErrorDetails(type="value_error", loc=loc, input=shown, ctx={"error": message})


def _described(field: FieldInfo, description: str) -> FieldInfo:
    """`field` with `description` (a copy: `field` is the derived model's own)."""
    described = copy.copy(field)
    described.description = description
    return described
