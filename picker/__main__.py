"""`python -m picker` runs the same entry point as the `picker` console script."""

from picker.cli import entry

entry()
