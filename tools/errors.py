"""Errors a tool raises, sorted by who reads them.

A ``ToolError`` is for the model and the user: its message is safe to show, and
the assistant turns it into a tool message the model can act on (retry with other
arguments, or ask the user). Anything else escaping a tool is a bug.

    ToolError                      code "tool_error"
    ├── InvalidArgument            code "invalid_argument": unknown measure, bad period, …
    │   ├── EmptyPeriod            code "empty_period": start after end, or nothing in range
    │   └── FutureDate             code "future_date": a period that starts after "now"
    ├── NotFound                   code "not_found": no such record *in the caller's scope*
    ├── Ambiguous                  code "ambiguous": several records match; carries candidates
    ├── PermissionDenied           code "permission_denied": a write outside the caller's scope
    └── DatabaseUnavailable        code "database_unavailable": locked or unreachable after bounded
                                   retries (``tools.registry``); also a ``storage.errors.StorageError``

Reads of a customer outside the caller's scope raise ``NotFound`` with the same
message as a customer that does not exist, so the answer never confirms existence.
"""

from __future__ import annotations

from pydantic import BaseModel

from storage.errors import DatabaseUnavailable as StorageUnavailable


class Candidate(BaseModel):
    id: int
    label: str
    detail: str | None = None


class ToolError(Exception):
    code = "tool_error"

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def to_dict(self) -> dict:
        out = {"error": self.code, "message": self.message}
        if self.hint:
            out["hint"] = self.hint
        return out

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class InvalidArgument(ToolError):
    code = "invalid_argument"


class EmptyPeriod(InvalidArgument):
    code = "empty_period"


class FutureDate(InvalidArgument):
    code = "future_date"


class NotFound(ToolError):
    code = "not_found"


class PermissionDenied(ToolError):
    code = "permission_denied"


class Ambiguous(ToolError):
    code = "ambiguous"

    def __init__(self, message: str, *, candidates: list[Candidate], hint: str | None = None):
        super().__init__(message, hint=hint)
        self.candidates = candidates

    def to_dict(self) -> dict:
        out = super().to_dict()
        out["candidates"] = [c.model_dump() for c in self.candidates]
        return out


class DatabaseUnavailable(ToolError, StorageUnavailable):
    """Retrying with other arguments will not help; the message says to try again later.

    ``detail`` (the driver's message, which may name hosts) stays out of ``to_dict``: the
    model and the chat user see only the safe message; the terminal and the logs may show it.
    """

    code = "database_unavailable"

    def __init__(self, message: str, *, reason: str = "down", detail: str | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.reason = reason
        self.detail = detail

    @classmethod
    def from_storage(cls, err: StorageUnavailable) -> DatabaseUnavailable:
        return cls(str(err), reason=getattr(err, "reason", "down"), detail=getattr(err, "detail", None))
