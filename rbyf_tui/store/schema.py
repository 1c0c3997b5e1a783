"""Ordered schema migrations. Append only: never edit a migration that has shipped."""

from __future__ import annotations

# The rating that counts, per model, catalog and task, over all of a model's sessions: the
# latest one (created_at, then id), whichever attempt it rates; never the warm-up, nor tasks
# outside the catalog (`rbyf import` keeps those under keys with ':', which catalog keys
# cannot have). One row for all raters and one per rater. Store keeps the table up to date
# as it writes each rating (writes.insert_rating), so the leaderboard reads ~models x tasks
# rows however many ratings there are; COUNTED_FILL rebuilds it from the ratings, and
# COUNTED_SELECT computes it where the table cannot be kept (e.g. a view over several files).
COUNTED_SELECT = """
    WITH rated AS (
        SELECT s.model_id, s.catalog_name, g.task_key, coalesce(r.rater, '') AS rater,
               r.id, r.generation_id, g.session_id, r.score, r.created_at,
               {'at': r.created_at, 'id': r.id} AS newest
        FROM ratings r JOIN generations g ON g.id = r.generation_id
        JOIN sessions s ON s.id = g.session_id
        WHERE NOT g.is_warmup AND NOT contains(g.task_key, ':')
    ), latest AS (
        SELECT model_id, catalog_name, task_key, all_raters, rater,
               arg_max(id, newest) AS rating_id, arg_max(generation_id, newest) AS generation_id,
               arg_max(session_id, newest) AS session_id, arg_max(score, newest) AS score,
               max(created_at) AS rated_at
        FROM (SELECT *, false AS all_raters FROM rated
              UNION ALL SELECT * REPLACE ('' AS rater), true AS all_raters FROM rated)
        GROUP BY model_id, catalog_name, task_key, all_raters, rater
    )
    SELECT l.model_id, l.catalog_name, l.task_key, l.all_raters, l.rater, l.rating_id,
           l.generation_id, l.session_id, l.score, l.rated_at, g.ttft_s, g.prompt_tps,
           g.decode_tps, g.checks_passed, g.checks_total, g.reasoning_s
    FROM latest l JOIN generations g ON g.id = l.generation_id
"""
COUNTED_FILL = "INSERT INTO counted" + COUNTED_SELECT + ";\n"


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
    # 2: the rating that counts per model, catalog and task (see COUNTED_FILL below).
    """
    CREATE TABLE counted (
        model_id VARCHAR NOT NULL,
        catalog_name VARCHAR NOT NULL,
        task_key VARCHAR NOT NULL,
        all_raters BOOLEAN NOT NULL,     -- true: the latest rating by anyone; false: by rater
        rater VARCHAR NOT NULL,          -- '' on the all_raters rows
        rating_id VARCHAR NOT NULL,
        generation_id VARCHAR NOT NULL,
        session_id VARCHAR NOT NULL,
        score INTEGER NOT NULL,
        rated_at TIMESTAMP NOT NULL,
        ttft_s DOUBLE,                   -- figures of the rated answer, for the medians
        prompt_tps DOUBLE,
        decode_tps DOUBLE,
        PRIMARY KEY (model_id, catalog_name, task_key, all_raters, rater)
    );
    """
    # ...filled from the ratings as COUNTED_FILL read then (it has changed since: this
    # migration stays what it was).
    + """INSERT INTO counted
    WITH rated AS (
        SELECT s.model_id, s.catalog_name, g.task_key, coalesce(r.rater, '') AS rater,
               r.id, r.generation_id, g.session_id, r.score, r.created_at,
               {'at': r.created_at, 'id': r.id} AS newest
        FROM ratings r JOIN generations g ON g.id = r.generation_id
        JOIN sessions s ON s.id = g.session_id
        WHERE NOT g.is_warmup AND NOT contains(g.task_key, ':')
    ), latest AS (
        SELECT model_id, catalog_name, task_key, all_raters, rater,
               arg_max(id, newest) AS rating_id, arg_max(generation_id, newest) AS generation_id,
               arg_max(session_id, newest) AS session_id, arg_max(score, newest) AS score,
               max(created_at) AS rated_at
        FROM (SELECT *, false AS all_raters FROM rated
              UNION ALL SELECT * REPLACE ('' AS rater), true AS all_raters FROM rated)
        GROUP BY model_id, catalog_name, task_key, all_raters, rater
    )
    SELECT l.model_id, l.catalog_name, l.task_key, l.all_raters, l.rater, l.rating_id,
           l.generation_id, l.session_id, l.score, l.rated_at, g.ttft_s, g.prompt_tps,
           g.decode_tps
    FROM latest l JOIN generations g ON g.id = l.generation_id
;
    """,
    # 3: automatic checks of an answer (checks.py). Their results go in generations.checks
    # (JSON, there since 1); the counts beside them let the leaderboard sum pass rates
    # without parsing JSON. NULL: no checks declared, or an answer stored before them.
    # The counted table carries them like the figures, so the leaderboard's pass rate
    # reads no generations.
    """
    ALTER TABLE generations ADD COLUMN checks_passed INTEGER;
    ALTER TABLE generations ADD COLUMN checks_total INTEGER;
    ALTER TABLE counted ADD COLUMN checks_passed INTEGER;
    ALTER TABLE counted ADD COLUMN checks_total INTEGER;
    """,
    # 4: ART indexes for the point lookups of a rating write and of a session's screen:
    # a generation by id, a session's generations, an answer's ratings. Without them each
    # one scans the table (~20-45 ms at a million generations).
    """
    CREATE INDEX generations_id ON generations (id);
    CREATE INDEX generations_session ON generations (session_id);
    CREATE INDEX ratings_generation ON ratings (generation_id);
    """,
    # 5: model loads that failed (a missing or broken file, a server that would not answer).
    # No session exists for a new one yet, so they get their own table; a resume's failure
    # names its session. `model` is what the user gave: a path, or 'name at URL'.
    """
    CREATE TABLE load_failures (
        id VARCHAR PRIMARY KEY,
        failed_at TIMESTAMP NOT NULL,
        origin VARCHAR NOT NULL,         -- tui | run
        backend VARCHAR NOT NULL,        -- llama.cpp | openai
        model VARCHAR NOT NULL,
        catalog_name VARCHAR,
        session_id VARCHAR,              -- the session being resumed, if any
        error VARCHAR NOT NULL,
        host VARCHAR
    );
    """,
    # 6: thinking models and prompt caches. `response` holds the answer only; the thinking
    # goes to `reasoning`. answer_ttft_s: the first answer token (ttft_s stays the first of
    # any kind); reasoning_tokens / reasoning_s: the thinking's share. prompt_eval_tokens:
    # the prompt tokens evaluated for this answer (prompt_tps divides these), and
    # prompt_cached_tokens those a prefix cache spared (NULL: the server did not say).
    # thinking: how the catalog's switch applied (on | off | unsupported | sent; NULL: not
    # asked). The counted table carries reasoning_s for the leaderboard's median.
    """
    ALTER TABLE generations ADD COLUMN reasoning VARCHAR;
    ALTER TABLE generations ADD COLUMN answer_ttft_s DOUBLE;
    ALTER TABLE generations ADD COLUMN reasoning_tokens INTEGER;
    ALTER TABLE generations ADD COLUMN reasoning_s DOUBLE;
    ALTER TABLE generations ADD COLUMN prompt_eval_tokens INTEGER;
    ALTER TABLE generations ADD COLUMN prompt_cached_tokens INTEGER;
    ALTER TABLE generations ADD COLUMN thinking VARCHAR;
    ALTER TABLE counted ADD COLUMN reasoning_s DOUBLE;
    """,
    # 7: comparing models. A comparison is several models' sessions on one catalog with the
    # same seed and sampling, generated one model after the other (sessions.comparison_id,
    # in the order given: comparison_position). Blind rating shows each task's answers
    # under the letters A, B, C… in an order shuffled per task and stored (blind_orders,
    # `sessions`: the session ids in letter order); a rating given so says so
    # (ratings.blind). Votes are pairwise battles: two answers to one task of one catalog,
    # which was on the left, the verdict (left | right | tie | both_bad), the rater.
    """
    CREATE TABLE comparisons (
        id VARCHAR PRIMARY KEY,
        catalog_id VARCHAR NOT NULL,     -- content hash, as sessions.catalog_id
        catalog_name VARCHAR NOT NULL,
        seed BIGINT,
        settings JSON,                   -- what every model's session shares
        origin VARCHAR NOT NULL,         -- tui | run
        created_at TIMESTAMP NOT NULL
    );
    ALTER TABLE sessions ADD COLUMN comparison_id VARCHAR;
    ALTER TABLE sessions ADD COLUMN comparison_position INTEGER;
    CREATE TABLE blind_orders (
        comparison_id VARCHAR NOT NULL,
        task_key VARCHAR NOT NULL,
        sessions JSON NOT NULL,          -- session ids in the order A, B, C, …
        seed BIGINT NOT NULL,
        created_at TIMESTAMP NOT NULL,
        PRIMARY KEY (comparison_id, task_key)
    );
    ALTER TABLE ratings ADD COLUMN blind BOOLEAN DEFAULT false;
    CREATE TABLE votes (
        id VARCHAR PRIMARY KEY,
        catalog_name VARCHAR NOT NULL,
        task_key VARCHAR NOT NULL,
        left_generation_id VARCHAR NOT NULL,
        right_generation_id VARCHAR NOT NULL,
        left_model_id VARCHAR NOT NULL,
        right_model_id VARCHAR NOT NULL,
        verdict VARCHAR NOT NULL,        -- left | right | tie | both_bad
        remarks VARCHAR,
        rater VARCHAR,
        created_at TIMESTAMP NOT NULL
    );
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
