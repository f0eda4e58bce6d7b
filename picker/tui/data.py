"""What the app asks of the core, in the same JSON shapes `picker --json` prints.

The TUI shows the documents the CLI prints, so both faces always agree. Every
function here is blocking and runs in a worker thread, never on the UI thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from picker.hardware.model import HardwareSnapshot
from picker.hardware.overrides import HardwareOverrides
from picker.rank.request import Ranking, RankRequest

USE_CASES: tuple[tuple[str, str], ...] = (
    ("general", "General knowledge"),
    ("coding", "Coding"),
    ("chat", "Chat / instructions"),
    ("math", "Math & reasoning"),
    ("long-context", "Long documents"),
    ("vision", "Vision"),
    ("tools", "Tool use"),
)


# The detail pane's cost comparison: the source document's case, 10M tokens a month.
DETAIL_COST_TOKENS_PER_MONTH = 10_000_000


@dataclass(frozen=True)
class Query:
    """The controls of the main screen."""

    use_case: str = "general"
    context: int | None = None  # None: the use case's default
    min_tokens_per_second: float | None = None  # None: the ranking's floor
    commercial_only: bool = False
    capabilities: tuple[str, ...] = ()
    on_disk_only: bool = False
    overrides: HardwareOverrides = field(default_factory=HardwareOverrides)

    def rank_request(self) -> RankRequest:
        """What `picker recommend` asks with the same flags, every fitting model listed."""
        return RankRequest(
            use_case=self.use_case, context=self.context, limit=None,
            min_tokens_per_second=self.min_tokens_per_second,
            commercial_only=self.commercial_only, capabilities=self.capabilities,
            on_disk_only=self.on_disk_only, tokens_per_month=DETAIL_COST_TOKENS_PER_MONTH,
            overrides=self.overrides)


def recommendations(query: Query, snapshot: HardwareSnapshot | None = None,
                    on_disk: frozenset[tuple[str, str]] | None = None,
                    limit: int | None = None) -> Ranking:
    """The ranking `picker recommend --json` prints for these controls, as typed records,
    each marked `on_disk` (every model that fits, or the best `limit`); on `snapshot` and
    with the on-disk scan's `on_disk` when given (the first screen's child ranks twice).

    (The on-disk scan walks the HF cache, LM Studio and Ollama folders: worth it here,
    too slow for the `picker --json` path, where `--on-disk` filters instead.)
    """
    from picker.rank.request import on_disk_quants, rank

    ranking = rank(query.rank_request()._replace(limit=limit), snapshot)
    here = on_disk_quants() if on_disk is None else on_disk
    return ranking._replace(records=tuple(
        record._replace(on_disk=(record.model_id, record.quant.upper()) in here)
        for record in ranking.records))


def model_details(model_id: str, snapshot: Any, context: int) -> dict[str, Any]:
    """What the detail pane adds to a recommendation: every quant's fit, every benchmark.

    Benchmarks come with their sources and the closed models' scores on the same
    benchmark, as the catalog gives them.
    """
    from picker.catalog import load_catalog
    from picker.rank.quant_fits import quant_fits

    catalog = load_catalog()
    model = catalog.model(model_id)
    if model is None:
        return {"quantizations": [], "benchmarks": []}
    benchmarks = []
    for score in model.benchmarks:
        closed = {}
        for reference in catalog.closed:
            theirs = reference.benchmark(score.benchmark)
            if theirs is not None:
                closed[reference.name] = theirs.score
        benchmarks.append({"benchmark": score.benchmark, "score": score.score, "source": score.source,
                           "setting": score.setting, "closed": closed})
    return {"quantizations": quant_fits(model, snapshot, context) if snapshot is not None else [],
            "benchmarks": benchmarks}


def hosts_details(model_id: str, quant: str, context: int, hosts_and_link: Any) -> list[str]:
    """`picker --hosts ...`: this row's plan across those machines, as the detail pane's lines.

    The catalog's shape of the quantization at the row's context, split the way
    `picker fit MODEL:QUANT --hosts ...` splits it (no advice: that searches over contexts).
    """
    from picker.catalog import fit_shape
    from picker.catalog.hooks import resolve
    from picker.errors import PickerError
    from picker.llama_settings import LlamaSettings
    from picker.rpc.plan import plan_across_hosts
    from picker.rpc.report import hosts_brief

    hosts, link = hosts_and_link
    target = f"{model_id}:{quant}"
    try:
        shape = fit_shape(target)
        model, quantization = resolve(target)
        model_args = (["--hf-repo", model.gguf.repo, "--hf-file", quantization.files[0]]
                      if model.gguf is not None and quantization.files else ["-m", "MODEL.gguf"])
        hosts_plan = plan_across_hosts(shape, LlamaSettings(n_ctx=context), hosts, link, model_args,
                                       advise=False)
    except PickerError as error:
        return [f"cannot plan {target} across these machines: {error.message}"]
    return hosts_brief(hosts_plan)
