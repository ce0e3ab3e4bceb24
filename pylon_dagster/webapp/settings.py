"""The web service's secrets, read from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pylon_dagster.settings import ConfigError

APP_SECRET_VAR = "PYLON_APP_SECRET"
APP_HEADER_NAME_VAR = "PYLON_APP_HEADER_NAME"
APP_HEADER_VALUE_VAR = "PYLON_APP_HEADER_VALUE"
WEBHOOK_SECRET_VAR = "PYLON_WEBHOOK_SECRET"


@dataclass(frozen=True)
class AppSettings:
    """Secrets of the two endpoints. An endpoint whose secret is unset is not served at all.

    `app_header` is an optional (name, value) that Pylon sends as a custom header on custom-app
    requests, checked on top of the signature.
    """

    app_secret: str | None = None
    app_header: tuple[str, str] | None = None
    webhook_secret: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> AppSettings:
        def read(name: str) -> str | None:
            return environ.get(name, "").strip() or None

        header_name, header_value = read(APP_HEADER_NAME_VAR), read(APP_HEADER_VALUE_VAR)
        if (header_name is None) != (header_value is None):
            raise ConfigError(
                f"Set both {APP_HEADER_NAME_VAR} and {APP_HEADER_VALUE_VAR} or neither, e.g. "
                f"{APP_HEADER_NAME_VAR}=X-App-Token {APP_HEADER_VALUE_VAR}=<a long random value>."
            )
        settings = cls(
            app_secret=read(APP_SECRET_VAR),
            app_header=(header_name, header_value) if header_name and header_value else None,
            webhook_secret=read(WEBHOOK_SECRET_VAR),
        )
        if settings.app_secret is None and settings.webhook_secret is None:
            raise ConfigError(
                f"Nothing to serve: set {APP_SECRET_VAR} (the custom app's signing secret, shown "
                f"when the app is created in Pylon) and/or {WEBHOOK_SECRET_VAR} (the webhook's "
                "signing secret)."
            )
        return settings
