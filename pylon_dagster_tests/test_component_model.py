"""The model Dagster validates a `PylonComponent`'s `defs.yaml` with: every attribute described,
one error an attribute mistake, a misspelling named with the attribute it was meant to be, no
value of a secret."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from pylon_dagster import PylonComponent, build_pylon_definitions
from pylon_dagster.component_model import attribute_errors

TOKEN = "{{ env.PYLON_US_TOKEN }}"
LITERAL_SECRET = "literal-secret-d41d8cd98f00b204"


def validation_error(attributes: dict[str, Any]) -> ValidationError:
    """What Dagster's `TypeAdapter(model).validate_python(attributes)` raises for `attributes`."""
    with pytest.raises(ValidationError) as raised:
        TypeAdapter(PylonComponent.model()).validate_python(attributes)
    return raised.value


def test_a_misspelled_attribute_is_one_error_naming_the_attribute_it_was_meant_to_be() -> None:
    error = validation_error({"api_tokn": TOKEN, "key_prefix": "pylon_us"})
    (detail,) = error.errors()
    assert detail["loc"] == ("api_tokn",)
    assert "did you mean 'api_token'?" in detail["msg"]


def test_an_unknown_attribute_like_none_lists_the_known_ones() -> None:
    (detail,) = validation_error({"api_token": TOKEN, "colour": "blue"}).errors()
    assert detail["loc"] == ("colour",)
    assert "known: api_token, api_url, budget_schema" in detail["msg"]


def test_a_missing_attribute_is_one_error() -> None:
    (detail,) = validation_error({"key_prefix": "pylon_us"}).errors()
    assert detail["loc"] == ("api_token",)
    assert detail["msg"] == "Value error, 'api_token' is required"


def test_a_wrongly_typed_attribute_is_one_error_not_one_a_union_member() -> None:
    (detail,) = validation_error(
        {"api_token": TOKEN, "issue_sensor_interval_seconds": [30]}
    ).errors()
    assert detail["loc"] == ("issue_sensor_interval_seconds",)
    assert detail["input"] == [30]


@pytest.mark.parametrize(
    "attributes",
    [
        {"api_tokn": LITERAL_SECRET},
        {"api_token": [LITERAL_SECRET]},
        {"api_token": TOKEN, "warehouse_url": [f"postgresql://u:{LITERAL_SECRET}@db/x"]},
    ],
)
def test_no_error_shows_a_secret_or_the_value_of_an_unknown_attribute(
    attributes: dict[str, Any],
) -> None:
    error = validation_error(attributes)
    assert LITERAL_SECRET not in str(error)
    assert LITERAL_SECRET not in repr(error.errors())


def test_valid_attributes_still_validate() -> None:
    attributes = {"api_token": TOKEN, "key_prefix": "pylon_us", "schedules": False}
    validated = TypeAdapter(PylonComponent.model()).validate_python(attributes)
    assert validated.model_dump(exclude_unset=True) == attributes


def test_every_documented_attribute_is_described_in_the_schema() -> None:
    """What `dg utils inspect-component` and an editor with the component's schema show."""
    properties = PylonComponent.model().model_json_schema()["properties"]
    documented = {
        name: field.description
        for name, field in PylonComponent.model_fields.items()
        if field.description
    }
    assert {"api_token", "api_url", "key_prefix", "schedules"} <= set(documented)
    assert {name: properties[name].get("description") for name in documented} == documented


def test_bad_items_of_a_list_are_told_apart_by_their_index() -> None:
    error = validation_error({"api_token": TOKEN, "streams": ["issues", 5, {"a": 1}]})
    assert [detail["loc"] for detail in error.errors()] == [("streams", 1), ("streams", 2)]


def test_the_components_own_validation_reports_as_the_yaml_model_does() -> None:
    """`build_pylon_definitions(...)` (Python, no YAML model in front) and the types the YAML's
    model lets through as text (a template may stand for any) meet the component's own
    validation: the same errors."""
    with pytest.raises(ValidationError) as raised:
        build_pylon_definitions(api_tokn=LITERAL_SECRET, key_prefix="pylon_us")
    (detail,) = raised.value.errors()
    assert detail["loc"] == ("api_tokn",)
    assert "did you mean 'api_token'?" in detail["msg"]
    assert LITERAL_SECRET not in str(raised.value)
    with pytest.raises(ValidationError) as raised:
        PylonComponent.resolve_from_yaml(f"api_token: {TOKEN!r}\nstreams: issues")
    assert [detail["loc"] for detail in raised.value.errors()] == [("streams",)]


def test_a_validators_own_error_type_is_reported_not_crashed_on() -> None:
    class Checked(BaseModel):
        colour: str

        @field_validator("colour")
        @classmethod
        def known_colour(cls, value: str) -> str:
            raise PydanticCustomError("unknown_colour", "no such colour")

    with pytest.raises(ValidationError) as raised:
        Checked(colour="mauve")
    (detail,) = attribute_errors(raised.value, {"colour"}, set()).errors()
    assert (detail["loc"], detail["msg"]) == (("colour",), "Value error, no such colour")
