"""Where rbyf keeps its files. RBYF_HOME puts everything under one folder; RBYF_DB picks the DB."""

from __future__ import annotations

import os
from pathlib import Path

APP = "rbyf"


def _home() -> Path | None:
    home = os.environ.get("RBYF_HOME")
    return Path(home).expanduser() if home else None


def data_dir() -> Path:
    home = _home()
    if home:
        return home
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP))


def config_dir() -> Path:
    home = _home()
    if home:
        return home
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP))


def cache_dir() -> Path:
    home = _home()
    if home:
        return home / "cache"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir(APP))


def db_path(override: str | os.PathLike[str] | None = None) -> Path:
    """The DuckDB file: --db, then RBYF_DB, then the user data dir."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("RBYF_DB")
    if env:
        return Path(env).expanduser()
    return data_dir() / "rbyf.duckdb"


def user_catalog_dir() -> Path:
    return config_dir() / "catalogs"


def log_dir() -> Path:
    return data_dir() / "logs"


def native_log_path() -> Path:
    """llama.cpp's own stderr output goes here unless --verbose."""
    return log_dir() / "llama.log"
