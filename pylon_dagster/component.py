"""`PylonComponent`: Pylon in any Dagster project, declared in a `defs.yaml`.

```yaml
type: pylon_dagster.PylonComponent
attributes:
  api_token: "{{ env.PYLON_US_TOKEN }}"
  api_url: https://api.usepylon.com
  start_date: "2024-01-01"
  warehouse_url: "{{ env.ANALYTICS_DB_URL }}"
  warehouse_schema: pylon_us
  key_prefix: pylon_us
```

It is also how this project's own code location is built (`definitions.py`:
`PylonComponent.from_environment(os.environ)`), and `build_pylon_definitions(...)` serves projects
without `dg`: one way to assemble the definitions. The attributes are translated into the
project's settings (`Settings.from_env`, every check included), and a mistake is one
`ConfigError` line naming the attribute.

Secrets stay Dagster `EnvVar`s: `api_token` (and a `warehouse_url` holding a password) must be
given as `{{ env.NAME }}`, which the component keeps as `EnvVar("NAME")` instead of rendering it,
so neither the run config nor the UI ever holds the value; it is read when a run or sensor starts.
"""

from __future__ import annotations

import os
import re
from collections import ChainMap
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Annotated, Any

import dagster as dg
from pydantic import BaseModel, ConfigDict, model_validator

from pylon_dagster.assemble import build_definitions
from pylon_dagster.catalog.streams import STREAMS
from pylon_dagster.catalog.tablespec import is_plain_name
from pylon_dagster.component_model import attributes_model, closest, with_attribute_errors
from pylon_dagster.component_scaffold import PylonComponentScaffolder
from pylon_dagster.namespace import DEFAULT_PREFIX
from pylon_dagster.settings import (
    API_TOKEN_VAR,
    API_URL_VAR,
    DEFAULT_API_URL,
    DEFAULT_DELETIONS_CRON,
    DEFAULT_ISSUE_SENSOR_INTERVAL_SECONDS,
    DEFAULT_ISSUES_CRON,
    DEFAULT_REFERENCE_CRON,
    DEFAULT_SCHEMA,
    DELETIONS_CRON_VAR,
    ISSUE_SENSOR_INTERVAL_VAR,
    ISSUES_CRON_VAR,
    RATE_LIMITS_VAR,
    REFERENCE_CRON_VAR,
    SCHEMA_VAR,
    START_DATE_VAR,
    STATE_DIR_VAR,
    WAREHOUSE_URL_VAR,
    ConfigError,
    Settings,
    parse_warehouse_url,
    schema_name,
)

_ENV_REFERENCE = re.compile(r"^\s*\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}\s*$")

ATTRIBUTE_VARS = {
    "api_token": API_TOKEN_VAR,
    "api_url": API_URL_VAR,
    "start_date": START_DATE_VAR,
    "warehouse_url": WAREHOUSE_URL_VAR,
    "warehouse_schema": SCHEMA_VAR,
    "rate_limits": RATE_LIMITS_VAR,
    "issues_cron": ISSUES_CRON_VAR,
    "reference_cron": REFERENCE_CRON_VAR,
    "deletions_cron": DELETIONS_CRON_VAR,
    "issue_sensor_interval_seconds": ISSUE_SENSOR_INTERVAL_VAR,
}
"""Each attribute and the environment variable the code location reads for it."""
SECRET_ATTRIBUTES = ("api_token", "warehouse_url")


def env_reference(raw: str) -> str | None:
    """`NAME` of a `{{ env.NAME }}` reference, else None."""
    match = _ENV_REFERENCE.match(raw)
    return match.group(1) if match else None


def _resolve_secret(context: dg.ResolutionContext, raw: str) -> str:
    """`{{ env.NAME }}` becomes `EnvVar("NAME")`, unrendered; anything else is rendered."""
    name = env_reference(raw) if isinstance(raw, str) else None
    return dg.EnvVar(name) if name else context.resolve_value(raw, as_type=str)


Secret = Annotated[
    dg.EnvVar | str,
    dg.Resolver(_resolve_secret, model_field_type=str, inject_before_resolve=False),
]
"""A string attribute that may be a secret: `{{ env.NAME }}` stays an `EnvVar`."""


@dg.scaffold_with(PylonComponentScaffolder)
class PylonComponent(dg.Component, dg.Resolvable, dg.Model):
    """Pylon's issues, messages, threads, knowledge base and reference streams synced into a
    Postgres schema, with the support metrics computed there, and the schedules and sensors that
    keep them fresh."""

    # `EnvVar` is a `str`: allowed as its own type, so validation keeps it an `EnvVar`.
    model_config = ConfigDict(
        extra="forbid", arbitrary_types_allowed=True, use_attribute_docstrings=True
    )

    api_token: Secret
    """Pylon API token, as `{{ env.NAME }}` (kept an `EnvVar`: never in run config or the UI)."""
    api_url: str = DEFAULT_API_URL
    """https://api.usepylon.com (US), https://api.eu.usepylon.com (EU), or an emulator's URL."""
    start_date: str | None = None
    """First day of the `issues` partitions, YYYY-MM-DD (default: 30 days before the first
    load, remembered in the state folder)."""
    warehouse_url: Secret | None = None
    """Postgres URL, as `{{ env.NAME }}` when it holds a password; unset: an embedded Postgres
    in the state folder."""
    warehouse_schema: str = DEFAULT_SCHEMA
    """Schema holding the tables and the sync's own state."""
    budget_schema: str | None = None
    """Schema (in the warehouse's database) keeping the rate budget; default: `warehouse_schema`.
    Pylon limits each organization's requests, whoever sends them: instances syncing one
    organization into different schemas name one budget schema to share its budget. Two
    organizations never share one, whichever schema keeps it (it is keyed by API host and a
    fingerprint of the token)."""
    key_prefix: str = DEFAULT_PREFIX
    """First part of every asset key (`pylon_us/issues`) and of the job, schedule, sensor and
    resource names (`pylon_us_issues_job`): two instances in one code location need two."""
    rate_limits: str = "auto"
    """Where the per-endpoint rates start: `auto`, a preset, or per-endpoint overrides."""
    issues_cron: str = DEFAULT_ISSUES_CRON
    """When the daily `issues` run starts (cron, UTC)."""
    reference_cron: str = DEFAULT_REFERENCE_CRON
    """When the daily refresh of the reference streams and the knowledge base starts (UTC)."""
    deletions_cron: str = DEFAULT_DELETIONS_CRON
    """When the deletion pass marks the issues Pylon no longer has (UTC); each pass spends at
    most 4% of an hour's search budget."""
    issue_sensor_interval_seconds: int = DEFAULT_ISSUE_SENSOR_INTERVAL_SECONDS
    """How often the issue-updates sensor asks Pylon what changed."""
    schedules: bool = True
    """Include the schedules (daily issues, reference refresh, deletions, checks)."""
    sensors: bool = True
    """Include the sensors (issue updates, webhooks, children, metrics, run failures)."""
    streams: list[str] | None = None
    """The streams to sync (the tables of `catalog/streams.py`: issues, issue_messages,
    accounts, ...); default: all. A stream left out that an included asset reads is an error,
    never left out silently: issue_messages and issue_threads need issues, the knowledge base's
    articles and collections need knowledge_bases, and the metrics need issues, issue_statuses
    and accounts (or `metrics: false`). The deletion pass comes with issues. Jobs, schedules and
    sensors left with nothing to run are left out. The Custom App's sidebar reads issues,
    accounts and contacts (every table exists all the same: empty when left out)."""
    metrics: bool = True
    """Compute the support metrics: `support_daily_metrics` and `account_support_summary`, with
    their checks, jobs and sensors. Off: the Custom App's sidebar shows no account numbers (it
    reads them from `account_support_summary`; it says "not computed yet") and lists the
    account's latest issues from `issues`."""
    group_name: str | None = None
    """The one Dagster group every asset of this instance is in (letters, digits, underscores;
    segments separated by `/`); default: the instance's own groups, `<key_prefix>_issues`,
    `<key_prefix>_reference`, `<key_prefix>_knowledge_base` and `<key_prefix>_analytics`."""

    @classmethod
    def model(cls) -> type[BaseModel]:
        """Dagster's model of the attributes, each described, with one error per mistake that
        shows no secret (`component_model`)."""
        return attributes_model(super().model(), cls, frozenset(SECRET_ATTRIBUTES))

    @model_validator(mode="wrap")
    @classmethod
    def _one_error_per_mistake(cls, data: Any, handler: Any) -> Any:
        """The component's own validation reports mistakes as its YAML's model does: it checks
        the types the YAML's model lets through as text (`"{{ ... }}"` may stand for any)."""
        return with_attribute_errors(data, handler, cls.model_fields, SECRET_ATTRIBUTES)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> PylonComponent:
        """The component of the project's own code location: the secrets by their variables;
        every other setting comes from the same environment, given to `definitions`."""
        url = dg.EnvVar(WAREHOUSE_URL_VAR) if environ.get(WAREHOUSE_URL_VAR, "").strip() else None
        return cls(api_token=dg.EnvVar(API_TOKEN_VAR), warehouse_url=url)

    def settings(self, environ: Mapping[str, str], *, by_variable: bool = False) -> Settings:
        """The settings these attributes describe; `environ` supplies what no attribute sets
        (the state folder; for the code location, every other `PYLON_*` variable). A mistake
        names the attribute, or with `by_variable` (the code location) the variable."""
        try:
            check_key_prefix(self.key_prefix)
            settings = Settings.from_env(ChainMap(self._environment(environ), environ))
            settings = replace(
                settings,
                key_prefix=self.key_prefix,
                budget_schema=self.budget_schema and budget_schema_name(self.budget_schema),
                streams=included_streams(self.streams),
                metrics=self.metrics,
                group_name=None if self.group_name is None else checked_group_name(self.group_name),
            )
        except ConfigError as error:
            if by_variable:
                raise
            raise ConfigError(attribute_message(str(error), self._names())) from None
        if self.warehouse_url is None:
            return settings
        # A URL given by reference may be unset where the definitions are only checked (CI's
        # `dg check defs`); the resource reads it when a run starts.
        return replace(settings, warehouse_url=settings.warehouse_url or self.warehouse_url)

    def _names(self) -> dict[str, str]:
        """What a settings error calls each variable: the attribute, or for a secret given as
        `{{ env.NAME }}` the variable NAME its value came from."""
        names = {var: attribute for attribute, var in ATTRIBUTE_VARS.items()}
        for attribute in SECRET_ATTRIBUTES:
            value = getattr(self, attribute)
            if isinstance(value, dg.EnvVar):
                names[ATTRIBUTE_VARS[attribute]] = value.env_var_name
        return names

    def _environment(self, environ: Mapping[str, str]) -> dict[str, str]:
        """The attributes set as the variables `Settings.from_env` reads (an attribute left out
        takes the same default as its variable), secrets' values included only to be checked
        (`Settings` keeps none of them)."""
        values = {
            var: str(getattr(self, attribute))
            for attribute, var in ATTRIBUTE_VARS.items()
            if attribute in self.model_fields_set
            and attribute not in SECRET_ATTRIBUTES
            and getattr(self, attribute) is not None
        }
        values[API_TOKEN_VAR] = _secret_value(self.api_token, environ)
        if self.warehouse_url is not None:
            values[WAREHOUSE_URL_VAR] = _secret_value(self.warehouse_url, environ)
            _refuse_literal_password(self.warehouse_url)
        return values

    def definitions(
        self, environ: Mapping[str, str], *, by_variable: bool = False
    ) -> dg.Definitions:
        """The assets, checks, jobs, schedules, sensors and resources of this instance
        (`environ`, `by_variable`: as for `settings`)."""
        if not isinstance(self.api_token, dg.EnvVar):
            raise ConfigError(
                'api_token must name an environment variable, e.g. "{{ env.PYLON_API_TOKEN }}" '
                'in YAML or dg.EnvVar("PYLON_API_TOKEN") in Python: a token written out would '
                "show in the run config and the UI."
            )
        defs = build_definitions(
            self.settings(environ, by_variable=by_variable), self.api_token, self.warehouse_url
        )
        return dg.Definitions(
            assets=defs.assets,
            asset_checks=defs.asset_checks,
            jobs=defs.jobs,
            schedules=defs.schedules if self.schedules else [],
            sensors=defs.sensors if self.sensors else [],
            resources=defs.resources,
            executor=defs.executor,
        )

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        return self.definitions(declared_environment(os.environ))


def build_pylon_definitions(**attributes: Any) -> dg.Definitions:
    """The definitions of one `PylonComponent`, for projects without `dg`:
    `build_pylon_definitions(api_token=dg.EnvVar("PYLON_API_TOKEN"), warehouse_url=...)`."""
    return PylonComponent.model_validate(attributes).definitions(declared_environment(os.environ))


def code_location(environ: Mapping[str, str]) -> dg.Definitions:
    """The code location `environ` describes (`PYLON_*`), built as a `PylonComponent` is: what
    `defs()` loads and the headless sync and the demo run."""
    return PylonComponent.from_environment(environ).definitions(environ, by_variable=True)


def declared_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """What an instance declared in YAML or Python takes from the environment: the state folder
    only. Other `PYLON_*` variables of the process configure the code location of this project,
    not an instance someone declared."""
    return {STATE_DIR_VAR: environ[STATE_DIR_VAR]} if STATE_DIR_VAR in environ else {}


def check_key_prefix(prefix: str) -> None:
    """A plain lower-case name: it starts every asset key and job, schedule and sensor name."""
    if not is_plain_name(prefix):
        raise ConfigError(
            f"key_prefix={prefix!r} is not a plain lower-case name (letters, digits, "
            "underscores; at most 63), e.g. pylon_us."
        )


def included_streams(names: Sequence[str] | None) -> frozenset[str]:
    """`streams`, checked: every name a stream's; None: every stream."""
    if names is None:
        return frozenset(STREAMS)
    if not names:
        raise ConfigError(
            f"streams=[] names no stream: name one or more of {', '.join(STREAMS)} (or leave "
            "it out: all of them)."
        )
    if unknown := [name for name in names if name not in STREAMS]:
        guesses = [
            f"{name!r} (did you mean {guess!r}?)"
            if (guess := closest(name, STREAMS))
            else repr(name)
            for name in unknown
        ]
        raise ConfigError(
            f"streams names no stream {', '.join(guesses)}: the streams are {', '.join(STREAMS)}."
        )
    return frozenset(names)


def checked_group_name(name: str) -> str:
    """`group_name`, if Dagster takes it as an asset group's name."""
    try:
        dg.AssetSpec("group_name_check", group_name=name)
    except dg.DagsterInvalidDefinitionError:
        raise ConfigError(
            f"group_name={name!r} is not a Dagster group name (letters, digits and underscores; "
            "segments separated by '/'), e.g. pylon_us."
        ) from None
    return name


def budget_schema_name(name: str) -> str:
    """`budget_schema`, checked like the warehouse schema."""
    try:
        return schema_name(name)
    except ConfigError as error:
        raise ConfigError(str(error).replace(SCHEMA_VAR, "budget_schema")) from None


def attribute_message(message: str, names: Mapping[str, str]) -> str:
    """A settings error in the component's terms (`names`: variable to what the user wrote):
    `start_date=...`, not `PYLON_START_DATE=...`."""
    for var, name in names.items():
        message = message.replace(var, name)
    return message


def _secret_value(value: str, environ: Mapping[str, str]) -> str:
    """The value behind an `EnvVar` (empty when unset), or the value itself."""
    if isinstance(value, dg.EnvVar):
        return environ.get(value.env_var_name, os.environ.get(value.env_var_name, ""))
    return value


def _refuse_literal_password(url: str) -> None:
    if not isinstance(url, dg.EnvVar) and parse_warehouse_url(url).password:
        raise ConfigError(
            'warehouse_url holds a password: give it as "{{ env.NAME }}" (e.g. '
            '"{{ env.ANALYTICS_DB_URL }}"), so it never appears in the run config or the UI.'
        )
