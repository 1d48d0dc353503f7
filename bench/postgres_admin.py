"""Scratch databases on the local PostgreSQL server: one per contender, recreated per run.

A fresh database per run makes every initial load start from nothing, even after a crashed
run, and keeps contenders that share table names (``mrsm_pipes``, ``bench_sensors``) apart.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

ADMIN_URL = "postgresql://postgres@localhost:5432/postgres"


def server_available(admin_url: str = ADMIN_URL) -> bool:
    """Whether the server answers (the PostgreSQL runs are skipped when it does not)."""
    try:
        with psycopg.connect(admin_url, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def ensure_database(name: str, admin_url: str = ADMIN_URL) -> None:
    """Create ``name`` when missing (as ``createdb -U postgres name`` would)."""
    with psycopg.connect(admin_url, autocommit=True) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if found.fetchall():
            return
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def recreate_database(name: str, admin_url: str = ADMIN_URL) -> None:
    """Drop ``name`` (closing its sessions) and create it empty."""
    with psycopg.connect(admin_url, autocommit=True) as connection:
        identifier = sql.Identifier(name)
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(identifier))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(identifier))
