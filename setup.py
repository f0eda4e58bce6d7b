"""Package discovery that pyproject.toml cannot express on its own.

Every `picker*` package is found automatically, and the top-level catalog/ folder
ships inside the wheel as `picker.catalog_data`, so a plain (non-editable) install
finds the model data. Everything else is configured in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["picker", "picker.*"]), "picker.catalog_data"],
    package_dir={"picker.catalog_data": "catalog"},
)
