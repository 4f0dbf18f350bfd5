"""The paper tables the course cites, loaded from the repository's ``data/`` folder."""

from __future__ import annotations

from pathlib import Path

__all__ = ["DATA_DIR", "available_tables", "paper_table"]

#: The ``data/`` folder next to the package (found from this file, not the working directory).
DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def available_tables() -> list[str]:
    """Names accepted by :func:`paper_table`, sorted."""
    return sorted(p.stem for p in DATA_DIR.glob("*.csv"))


def paper_table(name: str):
    """Load one reference table as a pandas DataFrame.

    Args:
        name: the CSV file's name without ``.csv``, e.g. ``"mobilenet_v1"``;
            see :func:`available_tables`.

    Returns:
        A ``pandas.DataFrame`` with a ``source`` column naming paper and table.

    Raises:
        FileNotFoundError: the ``data/`` folder is missing (the package was
            not installed from the repository, e.g. with ``pip install -e .``).
        ValueError: ``name`` is not one of the available tables.
    """
    import pandas as pd

    if not DATA_DIR.is_dir():
        raise FileNotFoundError(
            f"the course data folder {DATA_DIR} is missing; install the package from "
            'the repository with `pip install -e ".[dev]"` (or run `make lab`)'
        )
    names = available_tables()
    if not isinstance(name, str) or name not in names:
        raise ValueError(f"name must be one of {names}, got {name!r}")
    # Only empty fields are missing values: words such as "None" are data.
    return pd.read_csv(DATA_DIR / f"{name}.csv", keep_default_na=False, na_values=[""])
