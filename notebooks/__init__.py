"""The notebook suite, shipped inside the package as ``gapkit.notebooks`` (see pyproject.toml)."""
