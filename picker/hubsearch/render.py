"""Search results as text. Every value a Hub sent (ids, file and model names, messages) is
escaped one line at a time, so a newline or an escape sequence in a name cannot forge a line
or reach the terminal as a command."""

from __future__ import annotations

from typing import Any

from picker.safetext import escape_controls
from picker.units import format_size


def _safe(value: object) -> str:
    return escape_controls(str(value))


def _count(value: object) -> str:
    number = value if isinstance(value, int) else 0
    for limit, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if number >= limit:
            return f"{number / limit:.1f}{suffix}"
    return str(number)


def _speed(plan: dict[str, Any]) -> str:
    speed = plan.get("tokens_per_second")
    if not isinstance(speed, dict) or speed.get("estimate") is None:
        return "-"
    return f"~{speed['estimate']:.0f}" if speed["estimate"] >= 10 else f"~{speed['estimate']:.1f}"


def _where(plan: dict[str, Any]) -> str:
    if plan.get("fits"):
        return str(plan.get("placement"))
    return f"no ({format_size(plan.get('shortfall_bytes') or 0)} short)"


def _plans(repo: dict[str, Any]) -> list[str]:
    lines = [f"       {'quant':<10} {'size':>10}  {'where':<18} {'tokens/s':>8}  {'context':>8}  basis"]
    for plan in repo["plans"]:
        lines.append(f"       {_safe(plan['quant']):<10} {format_size(plan['size_bytes']):>10}  "
                     f"{_where(plan):<18} {_speed(plan):>8}  {plan.get('context', 0):>8,}  "
                     f"{_safe(plan['basis'])}")
    return lines


def _repo_lines(index: int, repo: dict[str, Any]) -> list[str]:
    facts = [f"downloads {_count(repo.get('downloads'))}", f"likes {_count(repo.get('likes'))}"]
    if repo.get("last_modified"):
        facts.append(f"updated {_safe(repo['last_modified'])}")
    if repo.get("gated"):
        facts.append("gated")
    lines = [f"{index:>3}  {_safe(repo['repo_id'])}  ({', '.join(facts)})"]
    header = next(iter(repo.get("headers") or []), None)
    if isinstance(header, dict) and header.get("architecture"):
        name = f" {_safe(header['name'])}," if header.get("name") else ""
        params = header.get("parameters")
        size = (f", {_count(params).replace('G', 'B')} parameters"
                if isinstance(params, int) and params else "")
        lines.append(f"       header:{name} {_safe(header['architecture'])}{size}")
    lines.append(f"       {_safe(repo.get('scores_note', ''))}")
    if repo.get("problem"):
        lines.append(f"       not planned: {_safe(repo['problem'])}")
    if repo.get("plans"):
        lines += _plans(repo)
    elif repo.get("quantizations"):
        sizes = [f"{_safe(q['quant'])} {format_size(q['size_bytes'])}" for q in repo["quantizations"]]
        lines.append(f"       quantizations: {', '.join(sizes)}")
    elif not repo.get("planned"):
        files = len(repo.get("gguf_files") or [])
        lines.append(f"       {files} GGUF file(s); not planned (--plan N plans more repositories)")
    return lines


def render_results(document: dict[str, Any]) -> str:
    query = document["query"]
    what = (f"GGUF quantizations of {_safe(query['base_model'])}" if query.get("base_model")
            else "GGUF repositories")
    words = f" matching {_safe(query['search'])!r}" if query.get("search") else ""
    when = _safe(document["fetched_at"][:16].replace("T", " "))
    source = "live from" if document["source"] == "live" else "kept from an earlier search of"
    lines = [f"{what}{words} on the Hub, by {_safe(query['sort'])} "
             f"({source} {_safe(document['endpoint'])}, {when} UTC); planned for {document['machine']}:"]
    if not document["results"]:
        lines.append("  none found; try other words, or --sort trending")
    for index, repo in enumerate(document["results"], 1):
        lines.append("")
        lines += _repo_lines(index, repo)
    lines.append("")
    lines.append("Fit and speed are planned from each file's GGUF header (ranged reads, nothing "
                 "downloaded); `picker fit hf://REPO/FILE` for the full plan, `picker download "
                 "hf://REPO/FILE` to get it.")
    return "\n".join(lines)


def render_sources(found: dict[str, Any] | None, model_id: str) -> str:
    """The `catalog show` section: other GGUF sources of this model, as last searched."""
    if found is None:
        return (f"Other GGUF sources: `picker search --for {model_id}` lists them from the Hub "
                "(with fit and speed here).")
    when = _safe(found["fetched_at"][:10])
    lines = [f"Other GGUF sources (Hub, as searched {when}; `picker search --for {model_id}` "
             "to refresh):"]
    for repo in found["repos"][:10]:
        lines.append(f"  {_safe(repo['repo_id'])}  downloads {_count(repo.get('downloads'))}")
    if not found["repos"]:
        lines.append("  none found")
    return "\n".join(lines)
