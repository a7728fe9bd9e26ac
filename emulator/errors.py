"""One root exception for everything the emulator reports to a user.

The CLI catches `EmulatorError` and prints it; anything else is a bug and
keeps its traceback. Each error says what went wrong, where, and how to fix it.
"""

from __future__ import annotations


class EmulatorError(Exception):
    """Base of every error meant for the user, never for a traceback."""

    def __init__(self, message: str, *, fix: str = "", where: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.where = where

    def render(self) -> str:
        """Return the error as the lines a person reads: where, what, fix."""
        head = f"{self.where}: {self.message}" if self.where else self.message
        return f"{head}\n  how to fix: {self.fix}" if self.fix else head


class ScenarioError(EmulatorError):
    """The scenario file cannot be read or does not match the schema."""


class CloudError(EmulatorError):
    """The emulated provider refused an operation, with the provider's code."""

    def __init__(self, code: str, message: str, *, fix: str = "", where: str = "") -> None:
        super().__init__(f"{code}: {message}", fix=fix, where=where)
        self.code = code


class EnvironmentProblem(EmulatorError):
    """The machine lacks something the run needs (root, Open vSwitch, ...)."""


class RunEnding(EnvironmentProblem):
    """A failure the run cannot go on after (the controller lost for good, a helper thread failed): it ends the
    run with exit 3 wherever it is raised, and is never shown as a refused command or an event's result."""


class RuntimeFailure(EmulatorError):
    """Building or running the emulated network failed."""
