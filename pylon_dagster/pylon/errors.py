"""Exceptions raised by the Pylon client. Each message says what happened and what to do.

None of them ever carries the API token: they are built from the URL, the status code and Pylon's
own error body, never from request headers.
"""

from __future__ import annotations


class PylonError(Exception):
    """Base class for everything the Pylon client raises."""


def _detail(errors: list[str]) -> str:
    """Pylon's `errors[]` as one phrase."""
    return "; ".join(errors) or "no detail given"


class PylonAuthenticationError(PylonError):
    """401/403: the token was refused. Not retried: retrying cannot fix a wrong token."""

    def __init__(
        self, *, status_code: int, base_url: str, errors: list[str], request_id: str | None
    ):
        self.status_code = status_code
        self.base_url = base_url
        self.errors = errors
        self.request_id = request_id
        super().__init__(
            f"Pylon refused the API token ({status_code} from {base_url}: {_detail(errors)}; "
            f"request_id={request_id}). Check that PYLON_API_TOKEN holds an active token made by "
            "an Admin under Settings > API, and that PYLON_API_URL is your organization's region "
            "(https://api.usepylon.com, or https://api.eu.usepylon.com for EU organizations)."
        )


class PylonRequestError(PylonError):
    """A 4xx other than auth or rate limiting: the request itself is wrong. Carries Pylon's `errors[]`."""

    def __init__(
        self,
        *,
        status_code: int,
        method: str,
        url: str,
        errors: list[str],
        request_id: str | None,
        code: str | None = None,
    ):
        self.status_code = status_code
        self.method = method
        self.url = url
        self.errors = errors
        self.request_id = request_id
        self.code = code
        super().__init__(
            f"Pylon rejected {method} {url} with {status_code}: {_detail(errors)} "
            f"(code={code}, request_id={request_id})"
        )


class PylonNotFoundError(PylonRequestError):
    """404: the object does not exist (any more), e.g. an issue deleted after it was listed."""


class PylonUnavailableError(PylonError):
    """Pylon kept failing (429, 5xx, timeouts, dropped connections) after every allowed attempt."""

    def __init__(self, *, method: str, url: str, attempts: int, last_failure: str):
        self.method = method
        self.url = url
        self.attempts = attempts
        self.last_failure = last_failure
        super().__init__(
            f"{method} {url} still failed after {attempts} attempts (last: {last_failure}). "
            "Pylon or the network is having trouble, or PYLON_API_URL points at the wrong host; "
            "nothing was written for this window, so rerunning later is safe."
        )


class PylonResponseError(PylonError):
    """A 2xx response that is not the JSON envelope Pylon documents, or a pagination that never ends."""


class PylonPageLimitReached(PylonError):
    """A listing had more pages than its caller allowed it (`page_limit`): what it listed is not
    all there is. The page past the limit was not requested."""


class PylonStoppedError(PylonError):
    """The sync was asked to stop (a signal, Ctrl-C) while this request waited for its turn."""

    def __init__(self) -> None:
        super().__init__(
            "Stopped on request before the next Pylon request; the load in progress was rolled "
            "back, and a rerun continues where the sync stood."
        )
