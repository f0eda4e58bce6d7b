"""Which published scores can be compared: the same test in the same setting.

Researchers record each score with its setting in words ("5-shot, base model Qwen3-8B-Base",
"GPQA Diamond, thinking mode (Table 19)", "MMLU-Redux, instruct (non-thinking)"). A base
model's 5-shot MMLU and an instruct model's chain-of-thought MMLU measure different things,
and so do GPQA Diamond and GPQA main, or a reasoning model's thinking run and a plain
answer. The ranking therefore reads two things from the words:

- the test: the catalog benchmark, or the variant the setting names (MMLU-Redux and
  MMLU-Pro stored under `mmlu`, MATH-500 under `math`, GPQA Diamond / main under `gpqa`);
- the mode: `base` (a pretrained model, few-shot), `thinking` (a reasoning run),
  `instruct` (an instruction-tuned model answering directly; the default), or
  `approximate` (the source document's rounded figures).

Scores of one test and mode form a peer group; a score counts as a fraction of the best
score in its group (see `quality`), so models are compared across settings only through
that stated conversion.
"""

from functools import lru_cache

from picker.catalog.types import BenchmarkScore
from picker.namedrecord import NamedRecord

MODES = ("base", "instruct", "thinking", "approximate")
# Plain substring and word tests (no regular expressions: compiling them costs more at
# start-up than the catalog's few hundred settings take to read).
_PUNCTUATION_CHARS = "-_()[],;:/.'\"+"
_PUNCTUATION = str.maketrans({char: " " for char in _PUNCTUATION_CHARS})
# The same as a byte table: bytes.translate is a plain table lookup, str.translate with a
# dict a lookup per character (about half the time of reading a setting); settings are ASCII.
_PUNCTUATION_BYTES = bytes.maketrans(_PUNCTUATION_CHARS.encode(), b" " * len(_PUNCTUATION_CHARS))
_TEST_NAMES = {"mmlu": "MMLU", "mmlu_redux": "MMLU-Redux", "mmlu_pro": "MMLU-Pro",
               "math": "MATH", "math_500": "MATH-500", "gpqa": "GPQA (variant not stated)",
               "gpqa_diamond": "GPQA Diamond", "gpqa_main": "GPQA main",
               "humaneval": "HumanEval", "ifeval": "IFEval", "gsm8k": "GSM8K",
               "mt_bench": "MT-Bench", "arena_elo": "Arena Elo", "aime_2024": "AIME 2024",
               "aime_2025": "AIME 2025", "livecodebench": "LiveCodeBench",
               "swe_bench_verified": "SWE-bench Verified", "swe_bench_pro": "SWE-Bench Pro",
               "mm_vet": "MM-Vet",
               "hle": "Humanity's Last Exam"}


class ScoreGroup(NamedRecord):
    """The peer group of a score: only scores of the same group are compared directly."""

    test: str  # e.g. "mmlu", "mmlu_redux", "gpqa_diamond"
    mode: str  # one of MODES

    @property
    def test_title(self) -> str:
        """The test as people write it ("HumanEval", "GPQA Diamond")."""
        return _TEST_NAMES.get(self.test, self.test)

    @property
    def label(self) -> str:
        mode = {"base": "base model", "instruct": "instruct", "thinking": "thinking",
                "approximate": "the source document's approximate figure"}[self.mode]
        return f"{self.test_title}, {mode}"


def _test(benchmark: str, words: str, tokens: set[str]) -> str:
    if benchmark == "mmlu":
        if "redux" in words:
            return "mmlu_redux"
        if "pro" in tokens or "mmlupro" in tokens:
            return "mmlu_pro"
    if benchmark == "math" and ("500" in tokens or "math500" in tokens):
        return "math_500"
    if benchmark == "gpqa":
        if "not diamond" in words or "main" in tokens:
            return "gpqa_main"
        if "diamond" in words:
            return "gpqa_diamond"
    return benchmark


def _mode(words: str, tokens: set[str], source: str) -> str:
    if source == "seed" or "approximate" in words:
        return "approximate"
    if "base" in tokens or "pt" in tokens or "pretrain" in words or "pre-train" in words \
            or "pre train" in words:
        return "base"
    if "non-thinking" in words or "nonthinking" in words or "non thinking" in words \
            or "thinking off" in words or "no thinking" in words:
        return "instruct"
    if "thinking" in words or "reasoning" in words:
        return "thinking"
    return "instruct"


@lru_cache(maxsize=4096)
def _group(benchmark: str, setting: str, source: str) -> ScoreGroup:
    words = setting.lower()
    spaced = (words.encode().translate(_PUNCTUATION_BYTES).decode() if words.isascii()
              else words.translate(_PUNCTUATION))
    tokens = set(spaced.split())
    return ScoreGroup(_test(benchmark, words, tokens), _mode(words, tokens, source))


def score_group(score: BenchmarkScore) -> ScoreGroup:
    """The score's test and mode, read from its benchmark name, setting and source."""
    return _group(score.benchmark, score.setting, score.source)
