"""Drive the real picker app in tmux as a person would, and save every screen as text.

Usage: python tests/tools/tmux_tour.py [OUT_DIR] [--size 120x40]
Needs tmux. Each step types keys, waits for the screen to settle, and writes
OUT_DIR/NN-name.txt with what the terminal shows.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

SESSION = "picker-tour"
# (name, keys to send, seconds to let the app settle)
STEPS: tuple[tuple[str, list[str], float], ...] = (
    ("main", [], 4.0),
    ("help", ["?"], 1.0),
    ("help-closed", ["Escape"], 0.5),
    ("next-row", ["Down", "Down"], 0.5),
    ("use-case-coding", ["u"], 3.0),
    ("sort", ["s", "s", "s", "s", "s", "s"], 0.8),
    ("filter", ["/", "q", "w", "e", "n"], 0.8),
    ("filter-cleared", ["Escape", "Escape"], 0.8),
    ("what-if", ["w"], 1.0),
    ("what-if-filled", ["6", "4", "G", "Tab", "2", "4", "G", ",", "2", "4", "G", "Enter"], 4.0),
    ("this-machine", ["C-w"], 4.0),
    ("escape-does-not-quit", ["Escape", "Escape"], 0.5),
)


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out_dir", nargs="?", default="tmux-screens")
    parser.add_argument("--size", default="120x40")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        print("tmux is not installed (apt-get install tmux)", file=sys.stderr)
        return 2
    width, height = args.size.split("x")
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True, check=False)
    picker = str(Path(sys.executable).with_name("picker"))
    tmux("new-session", "-d", "-s", SESSION, "-x", width, "-y", height, picker)
    try:
        for number, (name, keys, settle) in enumerate(STEPS):
            for key in keys:
                tmux("send-keys", "-t", SESSION, key)
                time.sleep(0.05)
            time.sleep(settle)
            screen = tmux("capture-pane", "-p", "-t", SESSION)
            (out / f"{number:02d}-{name}.txt").write_text(screen)
            print(f"saved {out / f'{number:02d}-{name}.txt'}")
        alive = subprocess.run(["tmux", "has-session", "-t", SESSION], check=False).returncode == 0
        print("app still running after Esc: yes" if alive else "app exited: NO (Esc must not quit)")
        tmux("send-keys", "-t", SESSION, "q")
        time.sleep(1.0)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True, check=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
