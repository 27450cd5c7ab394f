"""llmkit's exception hierarchy: one class per absl status code.

Every error raised by llmkit is an ``llmkit.Error`` with ``.code`` (the status code name, e.g.
``"INVALID_ARGUMENT"``) and, where the C++ status named one, ``.byte_offset``. Errors from a
model provider also carry ``.http_status`` (int), ``.retry_after`` and ``.retry_after_ms`` (the
header values as str), ``.should_retry`` (the ``x-should-retry`` header: True/False/None) and
``.provider_error`` (the provider's error body); a call a budget refused carries ``.budget``,
``.budget_spent_usd`` and ``.budget_limit_usd``. A call that failed after the provider counted
tokens (a stream cut or stopped, failed retries) lists those calls in ``.spent`` (dicts with
``model``, the token counts, ``failure`` and ``estimated``) and, under ``with_budget``, their
cost in ``.spent_usd``. Subclasses also inherit the matching built-in exception, so
``except ValueError`` catches bad input.
"""

import json


class Error(Exception):
    """Base class of every llmkit error."""

    code = "UNKNOWN"

    def __init__(self, message, code=None, payloads=None):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.payloads = dict(payloads or {})
        offset = self.payloads.get("llmkit/byte_offset")
        self.byte_offset = int(offset) if offset is not None else None
        status = self.payloads.get("llmkit/http_status")
        self.http_status = int(status) if status is not None else None
        self.retry_after = self.payloads.get("llmkit/retry_after")
        self.retry_after_ms = self.payloads.get("llmkit/retry_after_ms")
        should_retry = self.payloads.get("llmkit/should_retry")
        self.should_retry = None if should_retry is None else should_retry.lower() == "true"
        self.provider_error = self.payloads.get("llmkit/provider_error")
        # A call a budget refused (cost.h): the budget, its spent (settled and reserved) and limit.
        self.budget = self.payloads.get("llmkit/budget")
        spent = self.payloads.get("llmkit/budget_spent_usd")
        self.budget_spent_usd = float(spent) if spent is not None else None
        limit = self.payloads.get("llmkit/budget_limit_usd")
        self.budget_limit_usd = float(limit) if limit is not None else None
        # Provider calls of this failed call that used tokens (chat.h SpentOf) and their cost.
        try:
            spent_calls = json.loads(self.payloads.get("llmkit/spent", "[]"))
        except ValueError:
            spent_calls = []
        self.spent = spent_calls if isinstance(spent_calls, list) else []
        spent_usd = self.payloads.get("llmkit/spent_usd")
        self.spent_usd = float(spent_usd) if spent_usd is not None else None


class CancelledError(Error):
    code = "CANCELLED"


class InvalidArgumentError(Error, ValueError):
    code = "INVALID_ARGUMENT"


class DeadlineExceededError(Error, TimeoutError):
    code = "DEADLINE_EXCEEDED"


class NotFoundError(Error, LookupError):
    code = "NOT_FOUND"


class AlreadyExistsError(Error):
    code = "ALREADY_EXISTS"


class PermissionDeniedError(Error, PermissionError):
    code = "PERMISSION_DENIED"


class RateLimitError(Error):
    """Resource exhausted: HTTP 429, quota or budget."""

    code = "RESOURCE_EXHAUSTED"


# A limit was reached (quota, rate, or a template's output/iteration/memory limits).
ResourceExhaustedError = RateLimitError


class FailedPreconditionError(Error):
    code = "FAILED_PRECONDITION"


class AbortedError(Error):
    code = "ABORTED"


class OutOfRangeError(Error, IndexError):
    """Out of range, e.g. a context window exceeded."""

    code = "OUT_OF_RANGE"


class UnimplementedError(Error, NotImplementedError):
    code = "UNIMPLEMENTED"


class InternalError(Error):
    code = "INTERNAL"


class UnavailableError(Error, ConnectionError):
    code = "UNAVAILABLE"


class DataLossError(Error):
    code = "DATA_LOSS"


class UnauthenticatedError(Error):
    code = "UNAUTHENTICATED"


# absl::StatusCode values, in order.
_BY_CODE = {
    1: CancelledError,
    2: Error,
    3: InvalidArgumentError,
    4: DeadlineExceededError,
    5: NotFoundError,
    6: AlreadyExistsError,
    7: PermissionDeniedError,
    8: RateLimitError,
    9: FailedPreconditionError,
    10: AbortedError,
    11: OutOfRangeError,
    12: UnimplementedError,
    13: InternalError,
    14: UnavailableError,
    15: DataLossError,
    16: UnauthenticatedError,
}


def _from_status(code, message, payloads):
    """Builds the exception for an absl status (called from the C++ module)."""
    cls = _BY_CODE.get(code, Error)
    return cls(message, payloads=payloads)


class ValidationError(InvalidArgumentError):
    """An instance a JsonSchema rejected. ``.errors`` lists each failed assertion as a
    ``SchemaError`` (``instance_path``, ``keyword_location``, ``message``)."""

    def __init__(self, message, errors=(), **kwargs):
        super().__init__(message, **kwargs)
        self.errors = list(errors)
