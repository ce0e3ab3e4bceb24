"""The ground floor: every declaration the rest of the package builds on.

Streams (`streams.py`), what a table is (`tablespec.py`), every warehouse table (`tables.py`: the
stream tables, `metric_tables.py`, `state_tables.py`), Pylon's endpoints with their published rate
limits (`endpoints.py`) and where the rate budget starts (`rate_limits.py`). Nothing here imports
from the rest of the project (an import-linter contract in pyproject.toml says so), so every
floor above may read a declaration without reaching up.
"""
