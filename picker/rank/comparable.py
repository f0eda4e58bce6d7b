"""Which published scores can be compared: the same test in the same setting.

Researchers record each score with its setting in words ("5-shot, base model Qwen3-8B-Base",
"GPQA Diamond, thinking mode (Table 19)", "MMLU-Redux, instruct (non-thinking)"). A base
model's 5-shot MMLU and an instruct model's chain-of-thought MMLU measure different things,
and so do GPQA Diamond and GPQA main, or a reasoning model's thinking run and a plain
answer. The ranking therefore reads two things from the words:

- the test: the catalog benchmark, or the variant the setting names (MMLU-Redux and
  MMLU-Pro stored under `mmlu`, MATH-500 under `math`, GPQA Diamond / main under `gpqa`),
  the generation of a test that is re-released with new problems (LiveCodeBench v1..v6:
  each release holds the contest problems of a different date window, its README's
  "Dataset Versions", source `livecodebench-readme`), and the agent scaffold of a test
  that is run through one (SWE-bench Verified: a public scaffold such as OpenHands,
  SWE-agent or mini-SWE-agent, or the maker's own or an unnamed one; the score is the
  model and scaffold together: MiniMax's M2.5 release gives 80.2, 79.7 and 76.1 for one
  model under three scaffolds);
- the mode: `base` (a pretrained model, few-shot), `thinking` (a reasoning run),
  `instruct` (an instruction-tuned model answering directly; the default), or
  `approximate` (the source document's rounded figures).

Scores of one test and mode form a peer group. A score counts as a fraction of the best
score of its yardstick (see `quality`): a base model's and the source document's figures
are measured against their own group only; instruct and thinking runs against the best
of both (`ScoreGroup.yardstick`), the stated conversion between those two modes. Both are
the model as people run it (a thinking model thinks, an instruct-only one answers
directly), and measured against their own mode's best, an instruct model's 61 on AIME
2025 counted as fully as a thinking model's 96 (both the best of their mode); the mode
stays in the score's label. A group too small to judge by falls back to its test's family:
every mode, and for LiveCodeBench every release, for SWE-bench Verified every scaffold
(`ScoreGroup.family`); such a comparison crosses settings and counts as weaker evidence.
"""

from functools import lru_cache

from picker.catalog.types import BenchmarkScore
from picker.namedrecord import NamedRecord

MODES = ("base", "instruct", "thinking", "approximate")
POST_TRAINED = "post-trained"  # the yardstick of instruct and thinking runs alike
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
               "aime_2025": "AIME 2025", "hmmt_feb_2025": "HMMT February 2025",
               "livecodebench": "LiveCodeBench (release not named)",
               **{f"livecodebench_v{n}": f"LiveCodeBench v{n}" for n in range(1, 7)},
               "swe_bench_verified": "SWE-bench Verified (the maker's or an unnamed scaffold)",
               "swe_bench_verified_public": "SWE-bench Verified (a public scaffold)",
               "swe_bench_pro": "SWE-Bench Pro",
               "mm_vet": "MM-Vet", "ifbench": "IFBench", "multichallenge": "MultiChallenge",
               "arena_hard_v2": "Arena-Hard v2 (GPT-4.1 judge)",
               "arena_hard_v2_other_judge": "Arena-Hard v2 (another or an unnamed judge)",
               "hle": "Humanity's Last Exam"}


# LiveCodeBench's releases (its README's "Dataset Versions"): release_vN adds the problems
# of a later date window; a setting naming none, or several, is "release not named".
_LIVECODEBENCH_RELEASES = tuple(f"v{n}" for n in range(1, 7))
# Public agent scaffolds, as settings write them (punctuation read as spaces, padded): a
# SWE-bench Verified score run through one is compared with the others run through one.
_PUBLIC_SCAFFOLDS = (" openhands ", " open hands ", " swe agent ", " sweagent ")
_FAMILIES = {**{f"livecodebench_v{n}": "livecodebench" for n in range(1, 7)},
             "swe_bench_verified_public": "swe_bench_verified",
             "arena_hard_v2_other_judge": "arena_hard_v2"}
# Arena-Hard's score is a judge model's verdict: a win rate judged by GPT-4.1 (the Qwen cards'
# "for reproducibility") is compared only with others judged by it.
_ARENA_HARD_JUDGE = " gpt 4 1 "


class ScoreGroup(NamedRecord):
    """The peer group of a score: only scores of the same group are compared directly."""

    test: str  # e.g. "mmlu", "mmlu_redux", "gpqa_diamond"
    mode: str  # one of MODES

    @property
    def family(self) -> str:
        """The test with its release and scaffold left out: the pool a group too small to
        judge by is compared in (`quality`)."""
        return _FAMILIES.get(self.test, self.test)

    @property
    def yardstick(self) -> "ScoreGroup":
        """The group whose best score this one is measured against: the model as it is run,
        thinking or not, on one yardstick (`POST_TRAINED`); a base model's and the source
        document's figures on their own."""
        return ScoreGroup(self.test, POST_TRAINED) if self.mode in ("instruct", "thinking") else self

    @property
    def test_title(self) -> str:
        """The test as people write it ("HumanEval", "GPQA Diamond")."""
        return _TEST_NAMES.get(self.test, self.test)

    @property
    def label(self) -> str:
        mode = {"base": "base model", "instruct": "instruct", "thinking": "thinking",
                POST_TRAINED: "instruct or thinking",
                "approximate": "the source document's approximate figure"}[self.mode]
        return f"{self.test_title}, {mode}"


def _test(benchmark: str, words: str, tokens: set[str], spaced: str) -> str:
    if benchmark == "mmlu":
        if "redux" in words:
            return "mmlu_redux"
        if "pro" in tokens or "mmlupro" in tokens:
            return "mmlu_pro"
    if benchmark == "math" and ("500" in tokens or "math500" in tokens):
        return "math_500"
    if benchmark == "livecodebench":
        releases = [token for token in _LIVECODEBENCH_RELEASES if token in tokens]
        return f"livecodebench_{releases[0]}" if len(releases) == 1 else "livecodebench"
    if benchmark == "swe_bench_verified" and any(name in spaced for name in _PUBLIC_SCAFFOLDS):
        return "swe_bench_verified_public"
    if benchmark == "arena_hard_v2" and _ARENA_HARD_JUDGE not in spaced:
        return "arena_hard_v2_other_judge"
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
    return ScoreGroup(_test(benchmark, words, tokens, f" {spaced} "), _mode(words, tokens, source))


def score_group(score: BenchmarkScore) -> ScoreGroup:
    """The score's test and mode, read from its benchmark name, setting and source."""
    return _group(score.benchmark, score.setting, score.source)
