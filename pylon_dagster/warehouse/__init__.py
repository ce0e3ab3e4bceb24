"""The Postgres warehouse: embedded server or `PYLON_WAREHOUSE_URL`, table specs, COPY loader."""

from pylon_dagster.warehouse.engine import WarehouseUnavailableError
from pylon_dagster.warehouse.loader import ChildBatch, LoadResult, LoadTransaction
from pylon_dagster.warehouse.resource import PostgresWarehouse

__all__ = [
    "ChildBatch",
    "LoadResult",
    "LoadTransaction",
    "PostgresWarehouse",
    "WarehouseUnavailableError",
]
