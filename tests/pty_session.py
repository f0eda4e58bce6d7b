"""Drive a program through a pseudo-terminal, as a person at a keyboard would (stdlib pty only).

The program gets the terminal as its controlling terminal, so Ctrl-C (byte 0x03)
becomes a real SIGINT to its foreground process group, and Ctrl-D ends input.
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import time


class PtySession:
    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: becomes the program
            os.execvpe(argv[0], argv, env)
        self.pid = pid
        self.fd = fd
        self.output = ""  # everything read so far
        self._seen = 0  # where the next expect() starts looking
        self.exit_status: int | None = None

    def send(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # the program has ended and closed the terminal
            return False
        if not data:
            return False
        self.output += data.decode(errors="replace").replace("\r\n", "\n")
        return True

    def expect(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        """Wait until `pattern` (a regex) appears after what earlier expects consumed."""
        deadline = time.monotonic() + timeout
        compiled = re.compile(pattern)
        open_terminal = True
        while True:
            match = compiled.search(self.output, self._seen)
            if match:
                self._seen = match.end()
                return match
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not open_terminal:
                raise AssertionError(f"{pattern!r} not seen; output so far:\n{self.output}")
            open_terminal = self._read(min(remaining, 0.2))

    def wait(self, timeout: float) -> int | None:
        """The exit status once the program has ended; None while it runs."""
        deadline = time.monotonic() + timeout
        while self.exit_status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.exit_status = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() >= deadline:
                return None
            self._read(0.1)
        return self.exit_status

    def close(self) -> None:
        if self.wait(0) is None:
            os.kill(self.pid, signal.SIGKILL)
            self.wait(10)
        os.close(self.fd)
