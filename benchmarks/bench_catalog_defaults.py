"""How many catalog models' default quantizations are confirmed, and which are not.

Usage: python benchmarks/bench_catalog_defaults.py
The issue's target: every default quantization resolves to a real repository and file name,
with the evidence recorded in the data. Prints the counts per evidence grade (exact size and
file from a cited source; file named by a cited source; file pattern only; no file names) and
lists every default below "named by a source", so a regression shows up by name.
"""

from __future__ import annotations

from picker.catalog import defaults, load_catalog_from, shipped_data_dir


def main() -> None:
    catalog = load_catalog_from(shipped_data_dir())
    grades = defaults.default_evidence(catalog)
    counts = defaults.default_evidence_counts(grades)
    total = len(grades)
    print(f"default quantizations of {total} runnable catalog models:")
    print(f"  exact size and file from a cited source: {counts[defaults.EXACT]}")
    print(f"  file named by a cited source (size estimated): {counts[defaults.NAMED]}")
    print(f"  file name from the repository's pattern only: {counts[defaults.PATTERN]}")
    print(f"  no file names (split, parts unknown): {counts[defaults.UNNAMED]}")
    print(f"confirmed (exact or named): {counts[defaults.EXACT] + counts[defaults.NAMED]} of {total}")
    for model in catalog.models:
        grade = grades.get(model.id)
        if grade in (defaults.PATTERN, defaults.UNNAMED) and model.gguf is not None:
            quant = defaults.default_quantization(model, catalog.quant_types)
            where = quant.files[0] if quant is not None and quant.files else "no file names"
            print(f"  unconfirmed: {model.id} ({grade}) {model.gguf.repo} {where}")


if __name__ == "__main__":
    main()
