"""Support metrics computed with pandas from the warehouse: their tables and their computation."""
