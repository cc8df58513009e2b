"""Errors the rules raise. Views and the CLI turn them into messages; nothing here knows how."""


class DomainError(Exception):
    """A rule refused an action. `code` is stable (used by the JSON API); str() is for people."""

    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class IllegalTransition(DomainError):
    code = "illegal_transition"


class OutOfRange(DomainError):
    code = "out_of_range"
