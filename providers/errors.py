"""One exception hierarchy for everything a generation can run into.

Every message is a sentence a user can act on: what went wrong and what to do
next. Messages never contain keys, tokens, signatures or signed URLs.
"""

from __future__ import annotations


class FoleyError(Exception):
    """Base class. ``str(error)`` is the sentence shown to the user."""

    #: True when trying the same call again later may succeed.
    retryable: bool = False

    def __init__(self, message: str, *, vendor_code: str | int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.vendor_code = vendor_code

    def __str__(self) -> str:
        return self.message


class InputError(FoleyError):
    """The request breaks a documented limit; nothing was sent or paid for."""


class ConfigError(FoleyError):
    """Something must be set up first (a key, a base URL, an upload host, online access)."""


class AuthError(FoleyError):
    """The vendor rejected the credentials."""


class CreditsError(FoleyError):
    """The account has no credits, quota or resource pack left."""


class ModerationError(FoleyError):
    """The vendor refused the content (prompt or video) on policy grounds."""


class RateLimitError(FoleyError):
    """Too many requests or tasks; retried automatically before this is raised."""

    retryable = True


class VendorBusyError(RateLimitError):
    """The vendor refused the submit because the account is busy (too many tasks at once, or
    too many requests): that refusal proves no task was created, so the engine waits
    (``retry_after`` seconds when the vendor said, else with backoff) and submits again.
    Raised only where the answer proves nothing was made; out of credits is ``CreditsError``.
    """

    def __init__(
        self, message: str, *, vendor_code: str | int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, vendor_code=vendor_code)
        self.retry_after = retry_after


class VendorUnavailableError(FoleyError):
    """The vendor answered with a server error (5xx) after retries."""

    retryable = True


class ServiceUnavailableError(VendorUnavailableError):
    """The vendor answered a submit with HTTP 503 ("unavailable"): it refused it, no task was made."""


class NetworkError(FoleyError):
    """The vendor could not be reached (connection refused, DNS, timeout)."""

    retryable = True


class SubmitUncertainError(FoleyError):
    """A submit may have reached the vendor but no answer came back.

    It is never re-sent automatically, because that could charge twice.
    ``external_task_id`` is set when the vendor can look the task up by a
    client-chosen id (Kling): pass it to ``Provider.recover_submit``.
    ``what`` is only what happened (no advice), for the sentence the job ends with.
    """

    def __init__(
        self,
        message: str,
        *,
        vendor_code: str | int | None = None,
        external_task_id: str | None = None,
        what: str = "",
    ) -> None:
        super().__init__(message, vendor_code=vendor_code)
        self.external_task_id = external_task_id
        self.what = what or message


class TaskFailedError(FoleyError):
    """The vendor accepted the task, then reported it failed (with its reason)."""


class TaskGoneError(TaskFailedError):
    """The vendor answered 404 for a task it had accepted: it no longer has it (expired or deleted).

    Not a failure of the generation: asking again costs nothing, a new generation is a new charge.
    """


class TimeoutExceededError(FoleyError):
    """The vendor did not finish within the overall deadline; the task may still finish."""

    retryable = True


class DownloadError(FoleyError):
    """The result could not be downloaded or is not a valid audio file."""


class CancelledError(FoleyError):
    """The user cancelled the job."""


#: Errors from a submit that prove the vendor created no task: the request was refused as a
#: whole (bad input, credentials, credits, policy, a rate or concurrency limit) or never left.
#: Anything else - a server error, a lost or unreadable answer, an unexpected exception - may
#: come after the task was made, so it is never a reason to send the request again.
_REFUSALS = (
    InputError,
    ConfigError,
    AuthError,
    CreditsError,
    ModerationError,
    RateLimitError,
    ServiceUnavailableError,
    NetworkError,
    CancelledError,
)


def proves_no_task(error: BaseException) -> bool:
    """True when ``error``, raised by ``Provider.submit``, proves that no paid task exists."""
    return isinstance(error, _REFUSALS) and not isinstance(error, SubmitUncertainError)
