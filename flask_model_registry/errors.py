"""The error hierarchy shared by every layer, and MLflow's error-code to HTTP status table."""

from __future__ import annotations

__all__ = [
    "AlreadyExists",
    "HookMissing",
    "EndpointNotFound",
    "InvalidParameter",
    "NotFound",
    "PermissionDenied",
    "RegistryError",
    "StorageError",
    "TemporarilyUnavailable",
    "Unauthenticated",
    "status_for",
]

#: HTTP status for each MLflow ``error_code`` (``mlflow/exceptions.py``); unknown codes are 500.
ERROR_CODE_TO_HTTP_STATUS: dict[str, int] = {
    "INVALID_PARAMETER_VALUE": 400,
    "BAD_REQUEST": 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "UNAUTHENTICATED": 401,
    "CUSTOMER_UNAUTHORIZED": 401,
    "PERMISSION_DENIED": 403,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "NOT_FOUND": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "ABORTED": 409,
    "RESOURCE_CONFLICT": 409,
    "ALREADY_EXISTS": 409,
    "REQUEST_LIMIT_EXCEEDED": 429,
    "RESOURCE_EXHAUSTED": 429,
    "INTERNAL_ERROR": 500,
    "NOT_IMPLEMENTED": 501,
    "TEMPORARILY_UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}


def status_for(error_code: str) -> int:
    """Return the HTTP status MLflow uses for ``error_code``.

    :param error_code: An MLflow error code such as ``"RESOURCE_DOES_NOT_EXIST"``; an unknown
        one gives 500.
    """
    return ERROR_CODE_TO_HTTP_STATUS.get(error_code, 500)


class RegistryError(Exception):
    """Base class of every error the registry raises on purpose.

    The APIs answer it as MLflow does, ``{"error_code": ..., "message": ...}`` with the status
    of its error code; the pages show the message on an error page.

    :param message: What went wrong, in words a client may read: it is sent as is.
    :param error_code: An MLflow error code overriding the class's :attr:`error_code`.
    """

    #: The MLflow error code sent to clients; each subclass sets its own.
    error_code = "INTERNAL_ERROR"

    def __init__(self, message: str, *, error_code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if error_code is not None:
            self.error_code = error_code

    @property
    def status_code(self) -> int:
        """The HTTP status of :attr:`error_code` (:func:`status_for`)."""
        return status_for(self.error_code)

    def to_dict(self) -> dict[str, str]:
        """The JSON body of MLflow's error answer: ``error_code`` and ``message``."""
        return {"error_code": self.error_code, "message": self.message}


class InvalidParameter(RegistryError):
    """A request value is missing, malformed or out of range."""

    error_code = "INVALID_PARAMETER_VALUE"


class NotFound(RegistryError):
    """The resource does not exist in this project (or may not be seen)."""

    error_code = "RESOURCE_DOES_NOT_EXIST"


class AlreadyExists(RegistryError):
    """A resource with the same unique key exists."""

    error_code = "RESOURCE_ALREADY_EXISTS"


class EndpointNotFound(RegistryError):
    """No route answers this method and path."""

    error_code = "ENDPOINT_NOT_FOUND"


class Unauthenticated(RegistryError):
    """The request carries no usable credentials."""

    error_code = "UNAUTHENTICATED"


class PermissionDenied(RegistryError):
    """The caller may read the project but not do this."""

    error_code = "PERMISSION_DENIED"


class StorageError(RegistryError):
    """The artifact store failed to read or write."""

    error_code = "INTERNAL_ERROR"


class TemporarilyUnavailable(RegistryError):
    """The database or another backing service cannot be reached right now.

    :param retry_after: Seconds after which a retry may succeed, sent as ``Retry-After``.
    """

    error_code = "TEMPORARILY_UNAVAILABLE"

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class HookMissing(RuntimeError):
    """The host did not register a hook the registry needs; never turned into an HTTP answer."""
