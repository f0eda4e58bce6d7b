"""A conversation over a LlamaEngine, shared by `picker chat` and the TUI's quick chat.

Models with a chat template get it (llama-cpp-python renders the model's own
template in a Jinja sandbox). A base model has none: then the conversation is
plain text that the model continues, and `mode` says so.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from picker.hardware.model import HardwareSnapshot
from picker.runtime.engine import GenerationStats, LlamaEngine
from picker.targets.on_disk import ModelTarget

ChatMode = Literal["chat", "completion"]
# Plain-completion transcripts are cut to about this many characters per context token.
_CHARS_PER_TOKEN = 3

NO_TEMPLATE_NOTICE = (
    "this model has no chat template (a base model): plain completion, so your text is "
    "continued rather than answered"
)


@dataclass
class ChatSession:
    engine: LlamaEngine  # started
    system: str | None = None
    max_tokens: int = 512
    temperature: float = 0.7
    messages: list[dict[str, str]] = field(default_factory=list)
    transcript: str = ""
    answers: list[GenerationStats] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.reset()

    @property
    def mode(self) -> ChatMode:
        report = self.engine.load_report
        return "chat" if report is not None and report.has_chat_template else "completion"

    def reset(self) -> None:
        """Forget the conversation (the system prompt stays)."""
        self.messages = [{"role": "system", "content": self.system}] if self.system else []
        self.transcript = f"{self.system}\n\n" if self.system else ""

    def ask(self, text: str) -> Iterator[str]:
        """Stream the answer to `text`; the conversation and `answers` grow when it ends."""
        if self.mode == "chat":
            self.messages.append({"role": "user", "content": text})
            stream = self.engine.chat(self._recent_messages(), max_tokens=self.max_tokens,
                                      temperature=self.temperature)
        else:
            self.transcript += text
            stream = self.engine.complete(self._recent_transcript(), max_tokens=self.max_tokens,
                                          temperature=self.temperature)
        pieces: list[str] = []
        try:
            for piece in stream:
                pieces.append(piece)
                yield piece
        finally:
            answer = "".join(pieces)
            if self.mode == "chat":
                self.messages.append({"role": "assistant", "content": answer})
            else:
                self.transcript += answer + "\n"
            if self.engine.last_stats is not None:
                self.answers.append(self.engine.last_stats)

    def stop(self) -> None:
        """Stop the answer being streamed; safe from another thread or a signal handler."""
        self.engine.stop()

    def _budget_chars(self) -> int:
        """Roughly what fits in the context next to the answer (older turns drop out first)."""
        report = self.engine.load_report
        n_ctx = report.n_ctx if report else 2048
        return max(n_ctx - self.max_tokens, 256) * _CHARS_PER_TOKEN

    def _recent_transcript(self) -> str:
        return self.transcript[-self._budget_chars():]

    def _recent_messages(self) -> list[dict[str, str]]:
        system = [message for message in self.messages[:1] if message["role"] == "system"]
        turns = self.messages[len(system):]
        budget = self._budget_chars() - sum(len(message["content"]) for message in system)
        kept: list[dict[str, str]] = []
        for message in reversed(turns):
            budget -= len(message["content"])
            if budget < 0 and kept:
                break
            kept.insert(0, message)
        return system + kept

    def median_generation_tokens_per_second(self) -> float | None:
        rates = [stats.generation_tokens_per_second for stats in self.answers
                 if stats.generation_tokens_per_second is not None]
        return statistics.median(rates) if rates else None

    def median_prompt_tokens_per_second(self) -> float | None:
        rates = [stats.prompt_tokens_per_second for stats in self.answers
                 if stats.prompt_tokens_per_second is not None]
        return statistics.median(rates) if rates else None


def record_chat(target: ModelTarget, snapshot: HardwareSnapshot, settings: Mapping[str, object],
                session: ChatSession) -> int | None:
    """One history row per chat (`picker chat` and the TUI's quick chat alike): the median
    speeds of its answers, which the ranking uses like a smoke test's. None when nothing was
    answered; raises PickerError when the history cannot be written."""
    from picker.runtime.smoke import record

    rate = session.median_generation_tokens_per_second()
    if rate is None:
        return None
    return record("chat", target, snapshot, settings, True, None, {
        "generation_tokens_per_second": round(rate, 2),
        "prompt_tokens_per_second": session.median_prompt_tokens_per_second(),
        "answers": len(session.answers),
    })
