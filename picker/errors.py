"""One error hierarchy and one set of exit codes for the whole program.

Every failure a user can cause or meet is a `PickerError` carrying the exit code
the CLI returns and a one-line message that says what to do. Anything else that
escapes is a bug.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, documented in the README."""

    OK = 0
    USAGE = 2  # bad flag, bad value, bad target syntax (argparse uses 2 too)
    NOT_FOUND = 3  # model, file, repo or catalog entry does not exist
    NETWORK = 4  # the Hub or the network could not be reached
    INSUFFICIENT_RESOURCES = 5  # not enough memory or disk for what was asked
    RUNTIME_FAILURE = 6  # llama.cpp or another component failed while running
    INTERNAL = 70  # a bug in picker (sysexits' EX_SOFTWARE)
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), the shell convention


class PickerError(Exception):
    """A failure with a clear one-line message and the exit code that goes with it."""

    exit_code: ExitCode = ExitCode.RUNTIME_FAILURE
    code: str = "runtime_failure"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(PickerError):
    exit_code = ExitCode.USAGE
    code = "usage"


class NotFoundError(PickerError):
    exit_code = ExitCode.NOT_FOUND
    code = "not_found"


class NetworkError(PickerError):
    exit_code = ExitCode.NETWORK
    code = "network"


class InsufficientResourcesError(PickerError):
    exit_code = ExitCode.INSUFFICIENT_RESOURCES
    code = "insufficient_resources"


class RuntimeFailureError(PickerError):
    exit_code = ExitCode.RUNTIME_FAILURE
    code = "runtime_failure"


class InterruptedByUserError(PickerError):
    exit_code = ExitCode.INTERRUPTED
    code = "interrupted"


class InternalError(PickerError):
    """A bug in picker, reported as one line instead of a traceback."""

    exit_code = ExitCode.INTERNAL
    code = "internal_error"
