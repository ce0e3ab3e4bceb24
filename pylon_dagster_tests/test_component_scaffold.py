"""`dg scaffold defs pylon_dagster.PylonComponent NAME`, in-process: what it writes validates as
Dagster validates a `defs.yaml`, named after its folder (`test_component.py` runs it through `dg`)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import yaml
from pydantic import TypeAdapter

from pylon_dagster import PylonComponent
from pylon_dagster.component_scaffold import PylonComponentScaffolder, instance_name

TYPE_NAME = "pylon_dagster.PylonComponent"


@pytest.mark.parametrize(
    ("folder", "name"),
    [
        ("pylon_us", "pylon_us"),
        ("Pylon-EU", "pylon_eu"),
        ("2nd-org", "pylon_2nd_org"),
        ("---", "instance"),
        ("x" * 80, "x" * 57),
    ],
)
def test_an_instance_is_named_after_its_folder_as_a_plain_name(folder: str, name: str) -> None:
    assert instance_name(folder) == name


def scaffold(target: Path, *, append: bool = False) -> None:
    request = dg.ScaffoldRequest(
        type_name=TYPE_NAME,
        target_path=target,
        scaffold_format="yaml",
        project_root=None,
        params=None,
        append=append,
    )
    PylonComponentScaffolder().scaffold(request)


def declared(defs_yaml: Path) -> list[dict]:
    """Each instance's attributes, validated by the component's YAML model."""
    documents = list(yaml.safe_load_all(defs_yaml.read_text()))
    assert all(document["type"] == TYPE_NAME for document in documents)
    model = TypeAdapter(PylonComponent.model())
    return [model.validate_python(document["attributes"]).model_dump() for document in documents]


def test_a_scaffolded_instance_and_one_appended_have_names_of_their_own(tmp_path: Path) -> None:
    folder = tmp_path / "pylon-us"
    scaffold(folder)
    scaffold(folder / "defs.yaml", append=True)
    first, second = declared(folder / "defs.yaml")
    assert (first["key_prefix"], first["warehouse_schema"]) == ("pylon_us", "pylon_us")
    assert first["api_token"] == "{{ env.PYLON_US_API_TOKEN }}"
    assert (second["key_prefix"], second["warehouse_schema"]) == ("pylon_us_2", "pylon_us_2")
    assert second["api_token"] == "{{ env.PYLON_US_2_API_TOKEN }}"
