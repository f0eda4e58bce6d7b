"""Untrusted text (a GGUF's metadata, a file name a Hub lists, a user catalog's strings) never
reaches the terminal raw: every CLI output path shows its control and escape characters escaped.

The hostile value clears the screen, writes the clipboard (OSC 52), sets colours through a
one-byte C1 CSI (U+009B), deletes (DEL) and reverses the text that follows (U+202E).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from picker.safetext import escape_controls
from tests.cli_helpers import CliResult, run_picker
from tests.gguf_samples import write_llama
from tests.hub_server import HubServer

HOSTILE = "\x1b]52;c;cHduZWQ=\x07\x1b[2J\x9b31m\x7f\u202e\x08"
# What must never leave picker: C0 but newline and tab, DEL, C1, bidi embeddings/overrides/isolates.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
REPO = "someone/evil-GGUF"
HUB_FILE = f"evil{HOSTILE}-Q8_0.gguf"
BIDI_REPO, BIDI_FILE = "someone/bidi-GGUF", "evil\u202efoo-Q8_0.gguf"
PLAIN_REPO = "someone/plain-GGUF"  # a plain file name; the escapes are in its header


def assert_inert(result: CliResult, what: str) -> None:
    for stream, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        found = RAW_CONTROL.findall(text)
        assert not found, f"{what!r} wrote raw control characters {found!r} on {stream}: {text!r}"


def hostile_gguf(folder: Path, name: str = f"Evil {HOSTILE} Model") -> Path:
    """A valid GGUF whose file name, general.name, organization and license hold escapes."""
    folder.mkdir(parents=True, exist_ok=True)
    [path] = write_llama(folder / f"evil{HOSTILE}-Q8_0.gguf", extra_kv={
        "general.name": name,
        "general.organization": f"org{HOSTILE}",
        "general.license": f"license{HOSTILE}",
    })
    return path


def test_the_helper_shows_every_control_character_escaped() -> None:
    shown = escape_controls(f"a{HOSTILE}\tb\nc\udc9b")
    assert not RAW_CONTROL.search(shown) and "\n" not in shown and "\t" not in shown
    assert shown == ("a\\x1b]52;c;cHduZWQ=\\x07\\x1b[2J\\x9b31m\\x7f\\u202e\\x08\\x09b\\x0ac\\udc9b")
    assert escape_controls("tab\tand\nnewline\x1b", keep_newlines=True) == "tab\tand\nnewline\\x1b"
    assert escape_controls("Qwen2.5 7B · 4.7 GiB ✓") == "Qwen2.5 7B · 4.7 GiB ✓"  # untouched


def test_local_gguf_paths_show_escapes_not_raw(tmp_path: Path) -> None:
    path = hostile_gguf(tmp_path / "models")
    fit = run_picker("fit", str(path))
    assert fit.returncode == 0, fit.stderr
    assert_inert(fit, "fit FILE")
    assert "\\x1b]52" in fit.stdout  # shown, escaped, not dropped
    assert_inert(run_picker("fit", str(path), "--json"), "fit FILE --json")
    missing = run_picker("fit", str(tmp_path / f"missing{HOSTILE}.gguf"))
    assert missing.returncode == 3
    assert_inert(missing, "fit MISSING")
    assert "\\x1b]52" in missing.stderr

    added = run_picker("catalog", "add", str(path))
    assert added.returncode == 0, added.stderr
    assert_inert(added, "catalog add FILE")
    model_id = run_picker("catalog", "list", "--family", "user", "--json").json()["models"][0]["id"]
    again = run_picker("catalog", "add", str(path))  # refused: already added (an error naming it)
    assert_inert(again, "catalog add FILE (again)")
    for args in (("catalog", "list"), ("catalog", "list", "--json"), ("catalog", "show", model_id),
                 ("catalog", "show", model_id, "--json"), ("recommend", "--on-disk", "--limit", "50"),
                 ("recommend", "--on-disk", "--json"), ("fit", f"{model_id}:Q8_0"),
                 ("download", f"{model_id}:Q8_0", "--dir", str(tmp_path / "downloads"))):
        result = run_picker(*args)
        assert_inert(result, " ".join(args))
    show = run_picker("catalog", "show", model_id)
    assert "Evil \\x1b]52" in show.stdout
    recommended = run_picker("recommend", "--on-disk", "--json").json()["recommendations"]
    assert any(row["model_id"] == model_id for row in recommended)  # the hostile row was printed


def test_hub_names_and_headers_show_escapes_not_raw(hub_server: HubServer, tmp_path: Path) -> None:
    """A file name with escapes (refused or served: what picker prints is inert either way), one
    with a bidi override only, and a plainly named file whose header holds the escapes."""
    source = hostile_gguf(tmp_path / "source").read_bytes()
    hub_server.add_repo(REPO, {HUB_FILE: source, "README.md": b"evil"})
    hub_server.add_repo(BIDI_REPO, {BIDI_FILE: source})
    hub_server.add_repo(PLAIN_REPO, {"plain-Q8_0.gguf": source})
    env = {"HF_ENDPOINT": hub_server.endpoint}
    for index, target in enumerate((f"hf://{REPO}/{HUB_FILE}", f"hf://{BIDI_REPO}/{BIDI_FILE}",
                                    f"hf://{PLAIN_REPO}/plain-Q8_0.gguf")):
        for args in (("fit", target), ("fit", target, "--json"),
                     ("download", target, "--dir", str(tmp_path / f"dl{index}")),
                     ("download", target, "--dir", str(tmp_path / f"json{index}"), "--json")):
            assert_inert(run_picker(*args, env=env), " ".join(args))
    for args in (("fit", f"hf://{REPO}/missing{HOSTILE}.gguf"),
                 ("fit", f"hf://ev{HOSTILE}il/repo/x-Q8_0.gguf"),
                 ("catalog", "add", f"hf://{REPO}"), ("catalog", "add", f"hf://{BIDI_REPO}")):
        assert_inert(run_picker(*args, env=env), " ".join(args))
    added = run_picker("catalog", "add", f"hf://{PLAIN_REPO}", env=env)
    assert added.returncode == 0, added.stderr
    assert_inert(added, "catalog add hf://PLAIN_REPO")
    for args in (("catalog", "show", "plain"), ("catalog", "show", "plain", "--json"),
                 ("catalog", "list", "--family", "user"), ("fit", "plain:Q8_0"),
                 ("download", "plain:Q8_0", "--dir", str(tmp_path / "by-id"))):
        result = run_picker(*args, env=env)
        assert result.returncode == 0, result.stderr
        assert_inert(result, " ".join(args))
    assert "Evil \\x1b]52" in run_picker("catalog", "show", "plain", env=env).stdout


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("stream", [Terminal, io.StringIO], ids=["terminal", "log-file"])
def test_download_progress_lines_show_a_hub_name_escaped(stream: type[io.StringIO]) -> None:
    """The bar itself writes \\r and erase-line at a terminal; nothing else of the kind passes."""
    from picker.hub.progress import KINDS, JsonLines, ProgressEvent, StderrBar

    out, json_out = stream(), stream()
    bar, json_lines = StderrBar(out), JsonLines(json_out)
    for kind in KINDS:
        event = ProgressEvent(kind, HUB_FILE, 1, 1, 100, 100, resumed_from_bytes=10,
                              rate_bytes_per_second=5.0, eta_seconds=1.0, message=f"retry {HOSTILE}")
        bar(event)
        json_lines(event)
    own = out.getvalue().replace("\r", "").replace("\x1b[K", "")
    assert not RAW_CONTROL.search(own) and not RAW_CONTROL.search(json_out.getvalue()), own
    assert "evil\\x1b]52" in own and "retry \\x1b]52" in own


def test_chat_names_the_file_escaped(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    from tests.tiny_gguf import write_tiny_gguf

    path = write_tiny_gguf(tmp_path / f"chat{HOSTILE}.gguf")
    result = run_picker("chat", str(path))  # stdin is empty: it loads, then ends
    assert_inert(result, "chat FILE")
    assert "\\x1b]52" in result.stdout + result.stderr
