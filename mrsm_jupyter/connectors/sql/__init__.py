"""SQL instances and sources: one connector on SQLAlchemy (or DuckDB natively), one module per flavor."""
