"""Untrusted text made safe for a terminal: one helper for every output path.

A GGUF's metadata, a file name a Hub lists and a user catalog's strings are written by
whoever published them. Printed as they are, their control characters reach the terminal
as commands (clear the screen, set the window title, write the clipboard with OSC 52), and
bidi overrides reorder what the reader sees. `escape_controls` shows each such character as
an escape (`\\x1b`, `\\x9b`, `\\u202e`) instead, so the value is visible and inert.

Escaped: C0 controls (tab and newline kept only with `keep_newlines`, for picker's own
multi-line text), DEL, C1 controls (U+009B is a one-byte CSI to some terminals), the bidi
embeddings, overrides and isolates, the line and paragraph separators, and lone surrogates
(undecodable bytes, which could not be written to a UTF-8 stream anyway).
"""

import re

_ALWAYS = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 but tab and newline, DEL, C1
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidi marks, embeddings, overrides, isolates
    "\u2028\u2029"  # line and paragraph separators
    "\ud800-\udfff"  # lone surrogates
)
# Compiled on first need (~0.5 ms each, most runs print nothing to escape), then kept.
_patterns: dict[str, re.Pattern[str]] = {}


def _pattern(characters: str) -> re.Pattern[str]:
    pattern = _patterns.get(characters)
    if pattern is None:
        pattern = _patterns[characters] = re.compile(f"[{characters}]")
    return pattern


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with every control, escape and bidi-override character shown as `\\xNN`/`\\uNNNN`.

    One line by default (a newline or tab in a name is shown as `\\x0a`/`\\x09`); with
    `keep_newlines`, picker's own line breaks and tabs in a whole report stay as they are."""
    # The common cases, nothing to escape (isprintable is False for every character above).
    if text.isprintable() or (keep_newlines and all(line.isprintable() for line in text.split("\n"))):
        return text
    return _pattern(_ALWAYS if keep_newlines else "\t\n" + _ALWAYS).sub(_escape, text)


def escape_json_text(json_text: str) -> str:
    """JSON written with `ensure_ascii=False` keeps DEL, C1, bidi characters and lone surrogates
    raw (it escapes only C0); these become `\\uNNNN` escapes, the same JSON value, inert at a terminal."""
    if json_text.isascii():
        return json_text
    return _pattern(_ALWAYS).sub(lambda match: f"\\u{ord(match.group()):04x}", json_text)
