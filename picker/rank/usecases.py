"""Use cases, the benchmarks that measure each, and the source document's guidance for them.

Each use case names the catalog benchmarks that measure it, with weights; a model's
quality for the use case is the weighted mean of the ones it has (see `quality`).
Benchmarks are normalised to 0..1: percentages / 100, MT-Bench / 10, Arena Elo
(Elo - 800) / 1000.

| use case  | benchmarks (weight)                        | default context | needs    |
|-----------|--------------------------------------------|-----------------|----------|
| general   | MMLU 0.7, GPQA 0.15, MT-Bench 0.15         | 8,192           |          |
| coding    | HumanEval 1.0 (LiveCodeBench, SWE-bench V.) | 16,384          |          |
| chat      | IFEval 0.5 (IFBench), MT-Bench 0.3 (MultiChallenge), Arena Elo 0.2 (Arena-Hard v2) | 8,192 | |
| math      | MATH 0.6 (AIME, HMMT), GSM8K 0.25, GPQA 0.15 | 8,192         |          |
| long-context | MMLU 0.5, IFEval 0.5                       | 32,768          | 32k+ trained context |
| vision    | MMLU 1.0 (text proxy: no vision benchmark) | 8,192           | vision   |
| tools     | IFEval 0.6, MMLU 0.4 (proxy: no BFCL)      | 8,192           | tools    |

Newer tests stand in for an older one a model's card does not report (`ALTERNATIVES`):
each is still compared only with its own peers (see `quality` and `comparable`). Within
coding, LiveCodeBench (contest problems) and SWE-bench Verified (real repository issues
through an agent) measure different work: where a model publishes both they count alike
(a stated choice); either alone stands for coding, as most cards publish one kind and
counting the other as unknown ranked models on how many tests their card lists. A public
problem set open to memorization or trained on directly is weaker evidence
(`WEAK_EVIDENCE`: HumanEval; MATH, MATH-500, GSM8K, AIME 2024; IFEval; MT-Bench): half the
weight, at most the size peers' lower quartile, the rest predicted (`quality`).
"""

from picker.namedrecord import NamedRecord

# Three times the reading speed below (DEFAULT_MIN_TOKENS_PER_SECOND): a reply, even one with
# a short preamble, is ahead of the reader; past this a faster model is no better to read.
READ_COMFORTABLY_TOKENS_PER_SECOND = 15.0


class UseCase(NamedRecord):
    key: str
    title: str
    benchmarks: tuple[tuple[str, float], ...]  # (catalog benchmark, weight)
    default_context: int
    capability: str | None = None  # the model must have it
    min_trained_context: int = 0
    compare_on: str = "mmlu"  # the benchmark used for the closed-model comparison
    proxy_note: str = ""  # said when the benchmarks only approximate the use case
    guidance: str = ""  # the source document's note where local models trail
    # Speed at which the score's speed term is full: text that is read needs only to come
    # comfortably faster than it is read (READ_COMFORTABLY_TOKENS_PER_SECOND); code, tool
    # loops and reasoning chains produce many tokens nobody reads, so they keep gaining to 30.
    comfortable_tokens_per_second: float = 30.0


USE_CASES: dict[str, UseCase] = {
    case.key: case
    for case in (
        UseCase(
            "general", "general knowledge",
            (("mmlu", 0.7), ("gpqa", 0.15), ("mt_bench", 0.15)), 8192,
            compare_on="mmlu",
            comfortable_tokens_per_second=READ_COMFORTABLY_TOKENS_PER_SECOND,
        ),
        UseCase(
            "coding", "coding", (("humaneval", 1.0),), 16384, compare_on="humaneval",
            guidance="HumanEval is 164 short Python problems; real codebases are harder "
            "(source document).",
        ),
        UseCase(
            "chat", "chat and instruction following",
            (("ifeval", 0.5), ("mt_bench", 0.3), ("arena_elo", 0.2)), 8192,
            compare_on="mt_bench",
            comfortable_tokens_per_second=READ_COMFORTABLY_TOKENS_PER_SECOND,
            guidance="On long, multi-constraint instructions closed models are more reliable; "
            "open 70B models miss constraints more often (source document).",
        ),
        UseCase(
            "math", "math and reasoning",
            (("math", 0.6), ("gsm8k", 0.25), ("gpqa", 0.15)), 8192, compare_on="math",
            guidance="For hard math, reasoning models such as o1/o3 are in a different category; "
            "open models compare with GPT-4o (non-reasoning) on most math (source document).",
        ),
        UseCase(
            "long-context", "long documents",
            (("mmlu", 0.5), ("ifeval", 0.5)), 32768, min_trained_context=32768,
            compare_on="mmlu",
            comfortable_tokens_per_second=READ_COMFORTABLY_TOKENS_PER_SECOND,
            proxy_note="no long-context benchmark in the catalog: MMLU and IFEval stand in",
        ),
        UseCase(
            "vision", "vision (images)", (("mmlu", 1.0),), 8192, capability="vision",
            compare_on="mmlu",
            comfortable_tokens_per_second=READ_COMFORTABLY_TOKENS_PER_SECOND,
            proxy_note="no vision benchmark in the catalog: ranked on MMLU (text) as a proxy",
            guidance="No open vision-language model matches GPT-4o Vision or Claude 3.5 Sonnet "
            "on complex image and document understanding (source document).",
        ),
        UseCase(
            "tools", "tool use", (("ifeval", 0.6), ("mmlu", 0.4)), 8192, capability="tools",
            compare_on="mmlu",
            proxy_note="no tool-calling benchmark in the catalog: IFEval and MMLU stand in",
            guidance="Complex multi-step tool use: 7-8B open models are unreliable in "
            "production, 70B models are better but still trail Claude 3.5 Sonnet and GPT-4o "
            "(source document).",
        ),
    )
}

# Tests that measure what a use-case benchmark measures, counted for it when published.
ALTERNATIVES: dict[str, tuple[str, ...]] = {
    "mmlu": ("mmlu_redux", "mmlu_pro"),
    "humaneval": ("livecodebench", "swe_bench_verified"),
    "math": ("aime_2025", "aime_2024", "hmmt_feb_2025"),
    # IFBench's 58 constraints are unseen in IFEval's 25 (verifiable instruction following);
    # MultiChallenge, like MT-Bench, judges multi-turn conversations, on realistic ones.
    "ifeval": ("ifbench",),
    "mt_bench": ("multichallenge",),
    # Arena-Hard-Auto's prompts come from Chatbot Arena and a judge model stands in for its
    # voters (its paper, arXiv 2406.11939, finds 98.6 % correlation with the human ranking):
    # the same human preference Arena Elo measures, compared per judge (`comparable`).
    "arena_elo": ("arena_hard_v2",),
}

# Tests that are weaker evidence than the others for what they measure: (the share of a
# use-case benchmark's weight the test carries when it is a model's only evidence for it,
# why). HumanEval's 164 short Python problems have been public since 2021: the LiveCodeBench
# paper (source `livecodebench-paper`, arXiv 2403.07974) finds it no longer sufficient to
# tell current models apart, saturated and open to contamination and overfitting, where
# LiveCodeBench's dated contest problems and SWE-bench Verified's real repository issues are
# not. The share is a stated choice ("half the evidence"), not fitted to any ranking: the
# rest of the weight counts as unpublished (`quality`). Such a test can also show only that
# a model is weak, not that it is strong: LiveCodeBench's README (source
# `livecodebench-readme`) finds that models that do well on HumanEval do not necessarily do
# well on LiveCodeBench, so its score counts at most at its size peers' lower quartile
# (`quality._saturated_capped`).
# MATH and its MATH-500 subset (2021), GSM8K (2021) and AIME 2024 are public problem sets:
# MathArena (source `matharena-paper`, arXiv 2505.23281) finds that such widely available
# sets make genuine reasoning hard to tell from memorization, with strong signs of
# contamination in AIME 2024, and evaluates on competitions held after a model's release
# instead (AIME 2025 here). They are weak evidence alike: half the weight, at most the lower
# quartile (in the catalog, thinking models of 1.7B to 235B all score 93-98 on MATH-500).
_OPEN_MATH_SET = ("a public problem set open to memorization (MathArena, arXiv 2505.23281), "
                  "counted at most at its size peers' lower quartile")
# IFEval's 25 constraint types have been trained on directly: the IFBench paper (arXiv
# 2507.02833) finds most models strongly overfit to them and fail to generalize to unseen
# constraints (many 2B models pass 80 %), so IFEval is weak evidence as HumanEval is, and
# IFBench stands in for it at full strength. MT-Bench's 80 questions separate models poorly:
# the Arena-Hard paper (arXiv 2406.11939) measures 3x the separation of model performances
# with its 500 prompts, and it is judged by a fixed old model; MultiChallenge stands in.
_OVERFIT_IFEVAL = ("overfit: models trained on its 25 constraint types fail unseen ones (IFBench "
                   "paper, arXiv 2507.02833), counted at most at its size peers' lower quartile")
_FEW_MT_BENCH = ("80 questions that separate models poorly (Arena-Hard paper, arXiv 2406.11939), "
                 "counted at most at its size peers' lower quartile")
WEAK_EVIDENCE: dict[str, tuple[float, str]] = {
    "ifeval": (0.5, _OVERFIT_IFEVAL),
    "mt_bench": (0.5, _FEW_MT_BENCH),
    "humaneval": (0.5, "a saturated test open to contamination (LiveCodeBench paper, "
                       "arXiv 2403.07974), counted at most at its size peers' lower quartile "
                       "(doing well on it does not mean doing well on LiveCodeBench)"),
    **{test: (0.5, _OPEN_MATH_SET) for test in ("math", "math_500", "gsm8k", "aime_2024")},
}

DEFAULT_USE_CASE = "general"
# Usable reading speed: people read about 4-5 words a second (~250 wpm), about 5-7
# tokens a second at ~1.3 tokens per English word; below 5 tokens/s text arrives slower
# than it is read.
DEFAULT_MIN_TOKENS_PER_SECOND = 5.0
# Other spellings people (and the issue) use.
USE_CASE_ALIASES = {"long-docs": "long-context", "long-documents": "long-context",
                    "instruction": "chat", "reasoning": "math", "code": "coding",
                    "tool-use": "tools"}


def normalise(benchmark: str, score: float) -> float:
    """A benchmark score on a 0..1 scale (see the module table)."""
    if benchmark == "mt_bench":
        return score / 10.0
    if benchmark == "arena_elo":
        return max(0.0, min(1.0, (score - 800.0) / 1000.0))
    return score / 100.0


def planned_context(trained: int | None, use_case: str = DEFAULT_USE_CASE) -> int:
    """The context every command plans with unless --ctx says otherwise: the use case's
    default, or the model's trained context when that is shorter. `recommend`, the TUI, `fit`,
    `smoke` and `chat` all use it, so a plain `picker smoke` measures what was recommended."""
    default = USE_CASES[use_case].default_context
    return min(default, trained) if trained else default
