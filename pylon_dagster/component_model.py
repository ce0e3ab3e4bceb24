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

import difflib
import functools
from collections.abc import Collection
from typing import Any

from pydantic import BaseModel, ValidationError, create_model, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import InitErrorDetails


@functools.cache
def attributes_model(
    derived: type[BaseModel], component: type[BaseModel], secret: frozenset[str]
) -> type[BaseModel]:
    """`derived` (Dagster's model of `component`), validating the same, with the descriptions of
    `component`'s fields and its errors rewritten by `attribute_errors`."""

    def one_error_per_mistake(cls: type[BaseModel], data: Any, handler: Any) -> Any:
        try:
            return handler(data)
        except ValidationError as error:
            raise attribute_errors(error, cls.model_fields, secret) from None

    validator = model_validator(mode="wrap")(classmethod(one_error_per_mistake))
    described = {
        name: (field.annotation, FieldInfo.merge_field_infos(field, description=documented))
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


def attribute_errors(
    error: ValidationError, known: Collection[str], secret: Collection[str]
) -> ValidationError:
    """`error` with one error an attribute (the first pydantic gave), an unknown attribute
    reported as itself with the closest of `known` (which is then not also reported missing), and
    no value of an unknown or `secret` attribute."""
    details = error.errors()
    guesses = {
        str(detail["loc"][0]): difflib.get_close_matches(str(detail["loc"][0]), known, n=1)
        for detail in details
        if detail["type"] == "extra_forbidden" and len(detail["loc"]) == 1
    }
    meant = {guess for found in guesses.values() for guess in found}
    rewritten: list[InitErrorDetails] = []
    reported: set[str] = set()
    for detail in details:
        name = str(detail["loc"][0]) if detail["loc"] else ""
        if name in reported or (detail["type"] == "missing" and name in meant):
            continue  # one error an attribute: a union's members each report the same value
        reported.add(name)
        if name in guesses:
            found = guesses[name]
            hint = f"did you mean {found[0]!r}?" if found else f"known: {', '.join(sorted(known))}"
            message = f"{name!r} is not an attribute of this component; {hint}"
            rewritten.append(_value_error(detail["loc"], name, message))
        elif detail["type"] == "missing":
            rewritten.append(_value_error(detail["loc"], name, f"{name!r} is required"))
        else:
            shown = name if name in secret else detail["input"]
            rewritten.append(
                InitErrorDetails(
                    type=detail["type"],
                    loc=(name,) if name else (),
                    input=shown,
                    ctx=detail.get("ctx", {}),
                )
            )
    return ValidationError.from_exception_data(error.title, rewritten)


def _value_error(loc: tuple[int | str, ...], name: str, message: str) -> InitErrorDetails:
    """A `value_error` at `loc` whose input is the attribute's name, not its value."""
    return InitErrorDetails(type="value_error", loc=loc, input=name, ctx={"error": message})
