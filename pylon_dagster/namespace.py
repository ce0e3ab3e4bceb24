"""Instances side by side: one Pylon organization's definitions under a key prefix of its own.

The asset graph, jobs, schedules and sensors are built with the names of the code location
(`pylon/issues`, `pylon_issues_job`, the resources `pylon` and `warehouse`). A `PylonComponent`
with another `key_prefix` (say `pylon_us`) gets every name under that prefix, so two instances
(two organizations, or two schemas) load into one code location without a collision:

- asset keys `pylon_us/issues`, groups `pylon_us_issues`, ops `pylon_us__issue_children`;
- resources `pylon_us_pylon` and `pylon_us_warehouse`, which its assets, checks and sensors ask for;
- jobs `pylon_us_issues_job`, schedules and sensors `pylon_us_...`.

The asset graph and the jobs are renamed here, after they are built; the schedules and sensors
are built with their instance's names (`Settings.key_prefix`), since their code names jobs and
keys, and are pointed at the renamed jobs here. An instance may also put every asset in one group
of its own (`Settings.group_name`): its jobs then select their assets by key, not by group. The
code location's own prefix, `pylon`, without a group, leaves everything as it is.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from typing import Any

import dagster as dg

from pylon_dagster.dagster_adapter import AssetGraph, op_function, with_renamed_node

DEFAULT_PREFIX = "pylon"
RESOURCE_KEYS = ("pylon", "warehouse")


def instance_key(prefix: str, table: str) -> dg.AssetKey:
    """The asset key of `table` in the instance `prefix`."""
    return dg.AssetKey([prefix, table])


def instance_name(prefix: str, name: str) -> str:
    """A definition's (job, schedule, sensor, group) name in the instance `prefix`:
    `pylon_issues_job` becomes `pylon_us_issues_job`; a name without the `pylon` prefix gets
    the instance's in front."""
    if prefix == DEFAULT_PREFIX:
        return name
    base = name.removeprefix(f"{DEFAULT_PREFIX}_")
    return f"{prefix}_{base}"


def resource_key(prefix: str, key: str) -> str:
    """The key under which the instance `prefix` binds the resource `key` (`pylon_us_pylon`)."""
    return key if prefix == DEFAULT_PREFIX else f"{prefix}_{key}"


def resource_keys(prefix: str) -> dict[str, str]:
    return {key: resource_key(prefix, key) for key in RESOURCE_KEYS}


def with_resource_parameters(fn: Callable[..., Any], keys: Mapping[str, str]) -> Callable[..., Any]:
    """`fn` with its parameters renamed by `keys` (old to new): Dagster passes a resource to the
    parameter of its key's name, so this is how one function asks for `pylon_us_pylon`."""
    if all(old == new for old, new in keys.items()):
        return fn
    hints = typing.get_type_hints(fn)
    signature = inspect.signature(fn)
    original = {new: old for old, new in keys.items()}

    def arguments(kwargs: dict[str, Any]) -> dict[str, Any]:
        return {original.get(name, name): value for name, value in kwargs.items()}

    if inspect.isgeneratorfunction(fn):

        def renamed(*args: Any, **kwargs: Any) -> Any:
            return (yield from fn(*args, **arguments(kwargs)))
    else:

        def renamed(*args: Any, **kwargs: Any) -> Any:
            return fn(*args, **arguments(kwargs))

    functools.update_wrapper(renamed, fn, updated=())
    del renamed.__wrapped__  # Dagster reads the signature below, not `fn`'s
    parameters = [
        parameter.replace(
            name=keys.get(parameter.name, parameter.name),
            annotation=hints.get(parameter.name, parameter.annotation),
        )
        for parameter in signature.parameters.values()
    ]
    renamed.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    renamed.__annotations__ = {keys.get(name, name): hint for name, hint in hints.items()}
    return renamed


def instance_resources(prefix: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator: the function asks for the instance `prefix`'s resources (for sensors, which
    are built per instance)."""
    return functools.partial(with_resource_parameters, keys=resource_keys(prefix))


def namespaced(
    defs: dg.Definitions, graph: AssetGraph, prefix: str, group: str | None = None
) -> dg.Definitions:
    """`defs` (built for `prefix`: schedules and sensors already carry its names) with the asset
    graph, jobs and resources renamed into the instance `prefix`, and every asset in `group`
    when one is given (else in its own group's name in the instance). `graph` is the asset graph
    of `defs` as built: its assets, checks and resources (its sensors already target the
    instance's keys)."""
    if prefix == DEFAULT_PREFIX and group is None:
        return defs
    keys = {key: instance_key(prefix, key.path[-1]) for key in graph.get_all_asset_keys()}
    assets = [
        _renamed_assets(a, prefix, keys, group)
        for a in [*(defs.assets or ()), *(defs.asset_checks or ())]
    ]
    jobs = {job.name: _renamed_job(job, prefix, graph, keys) for job in defs.jobs or ()}
    return dg.Definitions(
        assets=assets,
        jobs=list(jobs.values()),
        schedules=[
            schedule.with_updated_job(jobs[schedule.job_name])
            if schedule.job_name in jobs
            else schedule
            for schedule in defs.schedules or ()
        ],
        sensors=[_retargeted_sensor(sensor, jobs) for sensor in defs.sensors or ()],
        resources={resource_key(prefix, k): v for k, v in (defs.resources or {}).items()},
        executor=defs.executor,
    )


def _renamed_assets(
    assets_def: Any, prefix: str, keys: Mapping[dg.AssetKey, dg.AssetKey], group: str | None
) -> dg.AssetsDefinition:
    """One asset or check definition under the instance's keys, groups (`group`, if given),
    op name and resources."""
    renamed = assets_def.with_attributes(asset_key_replacements=keys)
    if renamed.specs_by_key:  # asset checks have none
        (renamed,) = dg.map_asset_specs(
            lambda spec: spec.replace_attributes(
                group_name=group or instance_name(prefix, spec.group_name)
            ),
            [renamed],
        )
    mapping = {
        k: v for k, v in resource_keys(prefix).items() if k in renamed.op.required_resource_keys
    }
    return with_renamed_node(
        renamed,
        f"{prefix}__{renamed.op.name.removeprefix(f'{DEFAULT_PREFIX}__')}",
        mapping,
        with_resource_parameters(op_function(renamed), mapping),
    )


def _renamed_job(
    job: Any, prefix: str, graph: AssetGraph, keys: Mapping[dg.AssetKey, dg.AssetKey]
) -> dg.UnresolvedAssetJobDefinition:
    """An asset job of the instance: its name, and the same assets and checks under their new
    keys (the selection resolved on the graph it was written for)."""
    selection = job.selection
    assets = [keys[key] for key in selection.resolve(graph)]
    checks = [
        dg.AssetCheckKey(keys[check.asset_key], check.name)
        for check in selection.resolve_checks(graph)
    ]
    return dg.define_asset_job(
        instance_name(prefix, job.name),
        selection=dg.AssetSelection.assets(*assets).without_checks()
        | dg.AssetSelection.checks(*checks),
        description=job.description,
        tags=job.tags,
        run_tags=job.run_tags,
        config=job.config,
        partitions_def=job.partitions_def,
        executor_def=job.executor_def,
        hooks=job.hooks,
        op_retry_policy=job.op_retry_policy,
    )


def _retargeted_sensor(
    sensor: dg.SensorDefinition, jobs: Mapping[str, dg.UnresolvedAssetJobDefinition]
) -> dg.SensorDefinition:
    """A sensor pointed at the instance's jobs (the ones it names by name already are)."""
    if isinstance(sensor, dg.AutomationConditionSensorDefinition | dg.RunStatusSensorDefinition):
        return sensor
    if not sensor.has_jobs:
        return sensor
    return sensor.with_updated_jobs([jobs[job.name] for job in sensor.jobs])
