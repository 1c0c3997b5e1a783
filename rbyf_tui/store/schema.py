"""Ordered schema migrations. Append only: never edit a migration that has shipped."""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE models (
        id VARCHAR PRIMARY KEY,          -- 'sha256:<hex>', 'openai:<url>#<model>', 'legacy:<name>'
        name VARCHAR NOT NULL,
        backend VARCHAR NOT NULL,
        path VARCHAR,
        sha256 VARCHAR,
        size_bytes BIGINT,
        architecture VARCHAR,
        quantization VARCHAR,
        parameters VARCHAR,
        chat_format VARCHAR,
        n_ctx_train INTEGER,
        info JSON,
        first_seen TIMESTAMP NOT NULL,
        last_used TIMESTAMP NOT NULL
    );
    CREATE TABLE catalogs (
        id VARCHAR PRIMARY KEY,          -- content hash
        name VARCHAR NOT NULL,
        version VARCHAR NOT NULL,
        source VARCHAR,
        content VARCHAR,                 -- the TOML as read, so a session can resume
        created_at TIMESTAMP NOT NULL
    );
    CREATE TABLE sessions (
        id VARCHAR PRIMARY KEY,
        model_id VARCHAR NOT NULL,
        catalog_id VARCHAR NOT NULL,
        catalog_name VARCHAR NOT NULL,
        n_tasks INTEGER NOT NULL,        -- rated tasks in the catalog (the warm-up excluded)
        backend VARCHAR NOT NULL,
        settings JSON,
        hardware JSON,
        rater VARCHAR,
        status VARCHAR NOT NULL,         -- open | complete
        origin VARCHAR NOT NULL,         -- run | tui | import | merge
        note VARCHAR,
        pid INTEGER,                     -- the process generating into it, while it runs
        host VARCHAR,
        created_at TIMESTAMP NOT NULL,
        updated_at TIMESTAMP NOT NULL,
        finished_at TIMESTAMP
    );
    CREATE TABLE generations (
        id VARCHAR NOT NULL,
        session_id VARCHAR NOT NULL,
        task_key VARCHAR NOT NULL,
        task_title VARCHAR NOT NULL,
        is_warmup BOOLEAN NOT NULL,
        attempt INTEGER NOT NULL,
        system VARCHAR,
        prompt VARCHAR NOT NULL,
        sampling JSON,
        response VARCHAR NOT NULL,
        finish_reason VARCHAR,           -- stop | length | cancelled | error
        status VARCHAR NOT NULL,         -- running | ok | error | interrupted | cancelled
        error VARCHAR,
        ttft_s DOUBLE,
        total_s DOUBLE,
        prompt_tokens INTEGER,
        completion_tokens INTEGER,
        prompt_tps DOUBLE,
        decode_tps DOUBLE,
        e2e_tps DOUBLE,
        engine_prompt_tps DOUBLE,
        engine_decode_tps DOUBLE,
        prompt_tiktoken INTEGER,
        completion_tiktoken INTEGER,
        tokens_estimated BOOLEAN NOT NULL DEFAULT false,
        checks JSON,
        extra JSON,
        started_at TIMESTAMP NOT NULL,
        finished_at TIMESTAMP,
        updated_at TIMESTAMP NOT NULL
    );
    CREATE TABLE ratings (
        id VARCHAR NOT NULL,
        generation_id VARCHAR NOT NULL,
        score INTEGER NOT NULL CHECK (score BETWEEN 0 AND 5),
        remarks VARCHAR NOT NULL,
        rater VARCHAR,
        created_at TIMESTAMP NOT NULL
    );
    """,
    # 2: each rating carries its generation's session, task and warm-up flag, so counting
    # the latest rating per model and task needs no join of ratings with generations (the
    # leaderboard of 1,000 models x 100 tasks must compute in under 200 ms).
    """
    ALTER TABLE ratings ADD COLUMN session_id VARCHAR;
    ALTER TABLE ratings ADD COLUMN task_key VARCHAR;
    ALTER TABLE ratings ADD COLUMN is_warmup BOOLEAN;
    UPDATE ratings SET session_id = g.session_id, task_key = g.task_key, is_warmup = g.is_warmup
    FROM generations g WHERE g.id = ratings.generation_id;
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
