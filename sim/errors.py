"""One exception type for bad user input, so the command line can exit 2 without a traceback."""

from __future__ import annotations


class InputError(Exception):
    """Bad scenario, registry or argument, named precisely enough to fix.

    Formatted as ``file: field.path: reason (accepted: ...)``, the contract for
    ``etsim validate`` and every other command.

    Args:
        source: The file (or ``--set``, ``argument``) the bad value came from.
        field: Dotted field path, or ``row N, column C`` for tables.
        reason: What is wrong, in plain words.
        accepted: What would be accepted instead, if that can be said.
    """

    def __init__(self, source: str, field: str, reason: str, accepted: str | None = None):
        self.source = str(source)
        self.field = field
        self.reason = reason
        self.accepted = accepted
        super().__init__(self.message)

    @property
    def message(self) -> str:
        text = f"{self.source}: {self.field}: {self.reason}" if self.field else (
            f"{self.source}: {self.reason}"
        )
        if self.accepted:
            text += f" (accepted: {self.accepted})"
        return text


class InputErrors(InputError):
    """Several input errors found at once, reported together so a user fixes them in one go."""

    def __init__(self, errors: list[InputError]):
        self.errors = errors
        first = errors[0]
        super().__init__(first.source, first.field, first.reason, first.accepted)

    @property
    def message(self) -> str:
        return "\n".join(e.message for e in self.errors)
