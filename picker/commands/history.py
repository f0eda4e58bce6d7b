"""`picker history`: what smoke tests and chats measured on this machine (and others)."""

from __future__ import annotations

import argparse
import time
from typing import Any

from picker.commands import common
from picker.output import CommandOutput

DEFAULT_LIMIT = 50


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "history", help="list the measurements from smoke tests and chats, newest first",
        description="List every smoke test and chat measurement picker saved (SQLite in the "
        "user data folder): machine, model file, settings, speeds and memory.",
    )
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT, metavar="N",
                        help=f"show the N newest runs (default {DEFAULT_LIMIT}; 0: all)")
    common.add_json_flag(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> CommandOutput:
    from picker.errors import PickerError
    from picker.history import History

    history = History.open()
    records = []
    try:
        records = history.runs(limit=args.limit or None) if history.path.exists() else []
    except PickerError as error:  # not even a fresh one could be started: say so, show none
        history.notices.append(error.message)
    document = {"database": str(history.path), "runs": [record.to_dict() for record in records]}
    return CommandOutput(document={"history": document}, text=render(document),
                         warnings=history.notices)


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def render(document: dict[str, Any]) -> str:
    runs = document["runs"]
    if not runs:
        return f"no measurements yet ({document['database']}); run `picker smoke TARGET`"
    lines = [f"{'id':>4}  {'when (UTC)':<16}  {'kind':<5}  {'result':<6}  {'gen tok/s':>9}  "
             f"{'prompt tok/s':>12}  {'mem err':>7}  model / settings"]
    for run in runs:
        when = time.strftime("%Y-%m-%d %H:%M", time.strptime(run["created_at"], "%Y-%m-%dT%H:%M:%SZ"))
        error = run.get("error_pct")
        settings = run["settings"]
        lines.append(
            f"{run['id']:>4}  {when:<16}  {run['kind']:<5}  {'ok' if run['passed'] else 'FAILED':<6}  "
            f"{_rate(run.get('generation_tokens_per_second')):>9}  "
            f"{_rate(run.get('prompt_tokens_per_second')):>12}  "
            f"{'n/a' if error is None else f'{error:+.1f}%':>7}  {run['model']['name']} "
            f"(ctx {settings.get('n_ctx')}, gpu layers {settings.get('n_gpu_layers')})"
        )
        if not run["passed"] and run.get("reason"):
            lines.append(f"{'':>6}{run['reason']}")
    machines = sorted({run["machine"] for run in runs})
    lines.append("machines: " + "; ".join(machines))
    return "\n".join(lines)
