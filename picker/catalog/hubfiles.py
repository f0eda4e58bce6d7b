"""Which GGUF files in a repository listing make up which quantization.

Quantizers name files `<model>-<QUANT>.gguf` (bartowski, unsloth, lmstudio-community),
`<model>.<QUANT>.gguf` (TheBloke) or lower-case (`-q4_k_m`, `-f16`), and split big
ones into `-00001-of-00003.gguf` parts, sometimes inside a `<QUANT>/` folder. Vision
projectors (`mmproj-*`) and importance matrices are not quantizations of the model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_PART_RE = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)
_SKIP_RE = re.compile(r"(^|/)(mmproj|imatrix)[^/]*$", re.IGNORECASE)
# Unsloth "dynamic" variants (UD-Q4_K_XL ...) and similar re-mixes are not the plain type.
_VARIANT_RE = re.compile(r"(^|[-_./])(UD|IMAT|I1)[-_.]", re.IGNORECASE)
# llama-quantize's aliases, seen in older file names (`ggml-model-q4_k.gguf`).
ALIASES = {"Q3_K": "Q3_K_M", "Q4_K": "Q4_K_M", "Q5_K": "Q5_K_M"}


@dataclass(frozen=True)
class ListedFile:
    path: str
    size_bytes: int
    sha256: str | None


@dataclass(frozen=True)
class FoundQuant:
    quant: str
    files: tuple[str, ...]
    size_bytes: int
    sha256: tuple[str, ...]  # empty unless every part has one


def quant_pattern(names: Iterable[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?:^|[-_.])({alternatives})(?=[-_.])", re.IGNORECASE)


def quant_of(path: str, pattern: re.Pattern[str], canonical: dict[str, str]) -> str | None:
    """The quant type a file name carries (the last match wins: 'Q8_0' in 'x-Q8_0.gguf')."""
    name = path.rsplit("/", 1)[-1]
    matches = pattern.findall(name)
    return canonical[matches[-1].upper()] if matches else None


def find_quantizations(listing: Iterable[ListedFile], quant_types: Iterable[str]) -> list[FoundQuant]:
    """Group a repo's .gguf files into one entry per quant type (plain variant preferred)."""
    names = list(quant_types)
    canonical = {n.upper(): n for n in names}
    canonical.update({alias: target for alias, target in ALIASES.items() if target in names})
    pattern = quant_pattern(canonical)
    groups: dict[tuple[str, str], list[ListedFile]] = {}
    for entry in listing:
        if not entry.path.lower().endswith(".gguf") or _SKIP_RE.search(entry.path):
            continue
        quant = quant_of(entry.path, pattern, canonical)
        if quant is None:
            continue
        base = _PART_RE.sub("", entry.path)
        groups.setdefault((quant, base), []).append(entry)
    chosen: dict[str, tuple[bool, str, list[ListedFile]]] = {}
    for (quant, base), members in sorted(groups.items()):
        variant = bool(_VARIANT_RE.search(base.rsplit("/", 1)[-1]))
        if quant in chosen and (chosen[quant][0], chosen[quant][1]) <= (variant, base):
            continue
        chosen[quant] = (variant, base, members)
    found: list[FoundQuant] = []
    for quant, (_, _, members) in chosen.items():
        parts = sorted(members, key=lambda m: m.path)
        hashes = tuple(m.sha256 for m in parts if m.sha256)
        found.append(FoundQuant(
            quant,
            tuple(m.path for m in parts),
            sum(m.size_bytes for m in parts),
            hashes if len(hashes) == len(parts) else (),
        ))
    order = {name: i for i, name in enumerate(names)}
    return sorted(found, key=lambda f: order[f.quant])
