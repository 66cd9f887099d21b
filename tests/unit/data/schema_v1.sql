-- cltrace trace database, schema version 1 (meta.schema_version).
-- Times: *_ns are CLOCK_MONOTONIC nanoseconds of the traced machine (PoCL device
-- timestamps are on the same clock); *_at are ISO-8601 UTC wall-clock strings.
-- Sizes are columns, not strings. NULL means "not known", never a guess.
-- docs/schema.md documents every column; keep the two in step.

CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS runs (
    run_id       INTEGER PRIMARY KEY,
    command      TEXT NOT NULL,        -- shell-quoted command line
    argv         TEXT NOT NULL,        -- JSON list
    cwd          TEXT,
    host         TEXT,
    mode         TEXT,                 -- capture mode used: layer | preload
    started_at   TEXT,
    ended_at     TEXT,
    wall_s       REAL,
    exit_status  INTEGER,              -- the program's exit code; 128+N when killed by signal N
    signal       INTEGER,              -- the signal that ended it, else NULL
    status       TEXT NOT NULL,        -- ok | failed | interrupted | not-found | not-executable
    env          TEXT,                 -- JSON object: CLTRACE_*, OCL_ICD_*, POCL_*, OPENCL_* only
    cltrace_version TEXT,
    sweep_index  INTEGER,              -- position in a sweep (NULL outside sweeps)
    repeat_index INTEGER               -- repetition number of this configuration in a sweep
);

CREATE TABLE IF NOT EXISTS run_tags (     -- --tag k=v and sweep parameters
    run_id INTEGER NOT NULL REFERENCES runs(run_id),
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);

CREATE TABLE IF NOT EXISTS processes (
    process_id     INTEGER PRIMARY KEY,
    run_id         INTEGER NOT NULL REFERENCES runs(run_id),
    pid            INTEGER NOT NULL,
    ppid           INTEGER,
    argv           TEXT,               -- JSON list
    start_ns       INTEGER,
    mode           TEXT,
    capture_file   TEXT,               -- base name of the capture file it came from
    records        INTEGER,            -- valid records read
    truncated_bytes INTEGER,           -- bytes after the last valid record that could not be read
    launches       INTEGER,
    untimed_launches INTEGER,          -- launches with no device times
    clean_exit     INTEGER             -- 1 if the shim flushed at exit
);

CREATE TABLE IF NOT EXISTS devices (
    device_id      INTEGER PRIMARY KEY,
    run_id         INTEGER NOT NULL,
    process_id     INTEGER NOT NULL,
    handle         INTEGER NOT NULL,
    platform_name  TEXT,
    name           TEXT,
    vendor         TEXT,
    driver_version TEXT,
    device_type    INTEGER,
    compute_units  INTEGER,
    max_clock_mhz  INTEGER,
    max_work_group_size INTEGER,
    global_mem_bytes INTEGER
);

CREATE TABLE IF NOT EXISTS queues (
    queue_id        INTEGER PRIMARY KEY,
    run_id          INTEGER NOT NULL,
    process_id      INTEGER NOT NULL,
    handle          INTEGER NOT NULL,
    device_id       INTEGER,
    app_properties  INTEGER,
    used_properties INTEGER,
    created_ns      INTEGER,
    error           INTEGER
);

CREATE TABLE IF NOT EXISTS programs (
    program_id    INTEGER PRIMARY KEY,
    run_id        INTEGER NOT NULL,
    process_id    INTEGER NOT NULL,
    handle        INTEGER NOT NULL,
    kind          TEXT,                -- create | build | compile | link
    options       TEXT,
    start_ns      INTEGER,
    end_ns        INTEGER,
    build_ms      REAL,
    error         INTEGER
);

CREATE TABLE IF NOT EXISTS kernels (
    kernel_id     INTEGER PRIMARY KEY,
    run_id        INTEGER NOT NULL,
    process_id    INTEGER NOT NULL,
    handle        INTEGER NOT NULL,
    program_handle INTEGER,
    name          TEXT NOT NULL,
    attributes    TEXT,
    work_group_size INTEGER,
    preferred_multiple INTEGER,
    num_args      INTEGER
);

CREATE TABLE IF NOT EXISTS regions (
    region_id   INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL,
    process_id  INTEGER NOT NULL,
    tid         INTEGER,
    name        TEXT NOT NULL,
    tags        TEXT,                  -- JSON object of the region's key=value tags
    begin_ns    INTEGER,
    end_ns      INTEGER,               -- NULL if never ended
    begin_seq   INTEGER,
    end_seq     INTEGER
);

CREATE TABLE IF NOT EXISTS launches (
    launch_id     INTEGER PRIMARY KEY,
    run_id        INTEGER NOT NULL,
    process_id    INTEGER NOT NULL,
    seq           INTEGER NOT NULL,    -- order within the process
    tid           INTEGER,
    queue_id      INTEGER,
    device_id     INTEGER,
    kernel_id     INTEGER,
    kernel_name   TEXT,                -- copied from kernels.name for easy queries
    api           TEXT,                -- ndrange | task | command_buffer
    work_dim      INTEGER,
    offset0 INTEGER, offset1 INTEGER, offset2 INTEGER,
    global0 INTEGER, global1 INTEGER, global2 INTEGER,
    local0  INTEGER, local1  INTEGER, local2  INTEGER,   -- NULL when driver-chosen
    driver_local  INTEGER NOT NULL,    -- 1 if the app passed local = NULL
    work_groups   INTEGER,             -- product of ceil(global/local); NULL when driver-chosen
    arg_bytes     INTEGER,             -- bytes of buffers bound as arguments, NULL unknown
    host_enqueue_ns INTEGER,
    host_return_ns  INTEGER,
    queued_ns  INTEGER, submit_ns INTEGER, start_ns INTEGER, end_ns INTEGER,
    duration_ns INTEGER,               -- end_ns - start_ns
    error       INTEGER,               -- return code of the enqueue call
    own_event   INTEGER,               -- 1 if the shim created the event
    times_status TEXT,                 -- ok | missing | profiling-error | failed | pending-at-exit | untimed
    region_id   INTEGER                -- innermost region open on this thread at enqueue
);

CREATE TABLE IF NOT EXISTS notes (
    run_id     INTEGER NOT NULL,
    process_id INTEGER,
    kind       TEXT NOT NULL,          -- see docs/schema.md: ext-lookup, truncated, pending-at-exit, stderr-tail ...
    value      INTEGER,
    message    TEXT
);

CREATE INDEX IF NOT EXISTS launches_run ON launches(run_id);
CREATE INDEX IF NOT EXISTS launches_region ON launches(region_id);
CREATE INDEX IF NOT EXISTS run_tags_kv ON run_tags(key, value);
