"""The output contract shared by every command.

With `--json`, stdout holds exactly one JSON document (always carrying
`schema_version`); warnings and diagnostics go to stderr. Errors are one line on
stderr and, with `--json`, a `{"error": {...}}` document on stdout.
"""

import json
import sys
from typing import Any, TextIO

from picker import SCHEMA_VERSION
from picker.errors import PickerError
from picker.namedrecord import NamedRecord
from picker.safetext import escape_controls, escape_json_text

JsonDict = dict[str, Any]


class CommandOutput(NamedRecord):
    """What a command produced: the JSON document and its rendering for people. (A
    NamedTuple: `dataclasses` and the `inspect` it imports cost ~10 ms of `picker --json`.)"""

    document: JsonDict
    text: str
    exit_code: int = 0
    warnings: list[str] = []  # a shared default: never appended to


def with_schema(document: JsonDict) -> JsonDict:
    """Put `schema_version` first in a document."""
    return {"schema_version": SCHEMA_VERSION, **document}


def write_json(document: JsonDict, stream: TextIO | None = None) -> None:
    """Indented for a person at a terminal; compact for a program reading a pipe or file, where
    json's C encoder writes it about five times faster (indentation is pure Python)."""
    out = stream if stream is not None else sys.stdout
    try:
        for_a_person = out.isatty()
    except (AttributeError, ValueError):
        for_a_person = False
    text = json.dumps(with_schema(document), indent=2 if for_a_person else None, ensure_ascii=False)
    out.write(escape_json_text(text) + "\n")  # C1 and bidi characters too, not only C0
    out.flush()


def write_text(text: str, stream: TextIO | None = None) -> None:
    """A command's report for people. Names in it may come from a GGUF, a Hub or a user catalog:
    their control characters are shown escaped, never sent to the terminal as commands."""
    out = stream if stream is not None else sys.stdout
    out.write(escape_controls(text.rstrip("\n"), keep_newlines=True) + "\n")


def warn(message: str) -> None:
    """A diagnostic for people: stderr, one line (its untrusted names escaped), never stdout."""
    sys.stderr.write(f"picker: warning: {escape_controls(message)}\n")
    sys.stderr.flush()


def report_error(error: PickerError, as_json: bool) -> int:
    """One clear line on stderr (plus the JSON error document with --json); returns the exit code."""
    message = " ".join(error.message.split())  # always a single line
    sys.stderr.write(f"picker: error: {escape_controls(message)}\n")
    sys.stderr.flush()
    if as_json:
        write_json({"error": {"code": error.code, "exit_code": int(error.exit_code), "message": message}})
    return int(error.exit_code)
