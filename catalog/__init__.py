"""Model data, shipped inside the wheel as the package `picker.catalog_data`."""
