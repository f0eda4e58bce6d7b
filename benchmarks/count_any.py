"""How often `Any` appears in the signatures of picker's core (everything under picker/ but
the two faces' glue, picker/tui/ and picker/commands/): the figure issue #17 tracks.

Counts every `Any` inside a parameter or return annotation of a function or method (a
`dict[str, Any]` counts once, `tuple[Any, Any]` twice), and the functions with at least one.
Quoted annotations are parsed too. Prints the total, then the count per package.

    .venv/bin/python benchmarks/count_any.py [--files]
"""

from __future__ import annotations

import argparse
import ast
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "picker"
FACES = ("tui", "commands")


def _anys(annotation: ast.expr | None) -> int:
    """`Any` names (or `typing.Any`) inside one annotation."""
    if annotation is None:
        return 0
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            annotation = ast.parse(annotation.value, mode="eval").body
        except SyntaxError:
            return 0
    return sum(1 for node in ast.walk(annotation)
               if (isinstance(node, ast.Name) and node.id == "Any")
               or (isinstance(node, ast.Attribute) and node.attr == "Any"))


def _signature_anys(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    arguments = function.args
    every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
             *(a for a in (arguments.vararg, arguments.kwarg) if a is not None)]
    return sum(_anys(a.annotation) for a in every) + _anys(function.returns)


def count(root: Path = ROOT) -> tuple[Counter[str], Counter[str]]:
    """(Any per file, functions with an Any per file) for the core's files."""
    anys: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] in FACES:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found = _signature_anys(node)
                if found:
                    anys[str(relative)] += found
                    functions[str(relative)] += 1
    return anys, functions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", action="store_true", help="also list the count per file")
    options = parser.parse_args()
    anys, functions = count()
    print(f"Any in core signatures: {sum(anys.values())} "
          f"(in {sum(functions.values())} functions; picker/ without tui/ and commands/)")
    packages: Counter[str] = Counter()
    for file, found in anys.items():
        packages[file.split("/")[0].removesuffix(".py")] += found
    for package, found in packages.most_common():
        print(f"  {package:<12} {found}")
    if options.files:
        for file, found in anys.most_common():
            print(f"  {file:<40} {found}")


if __name__ == "__main__":
    main()
