"""`pylon-dagster status`: is every stream fresh, which partitions are missing or failed, and
what the shared rate budget has learned. Gathered in `collect`, judged in `report`, shown by
`render` (tables or JSON); `command` ties them to exit codes."""
