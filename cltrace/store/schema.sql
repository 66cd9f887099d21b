-- cltrace trace database, schema version 4 (meta.schema_version).
-- Times: host *_ns are CLOCK_MONOTONIC nanoseconds of the traced machine; device
-- *_ns are the device's own clock (PoCL on the CPU: CLOCK_MONOTONIC_RAW); *_at are ISO-8601 UTC wall-clock strings.
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
    sweep_index  INTEGER,              -- position in its sweep's plan (NULL outside sweeps)
    repeat_index INTEGER,              -- repetition number of this configuration in a sweep
    sweep_id     INTEGER               -- the sweep it belongs to (sweeps.sweep_id); NULL for cltrace run/ingest
);

-- One row per `cltrace sweep` (a new one per sweep, --append included; --resume continues its row): the
-- stored plan that progress, "unfinished" and --resume are read from.
CREATE TABLE IF NOT EXISTS sweeps (
    sweep_id     INTEGER PRIMARY KEY,
    command      TEXT NOT NULL,        -- the command template, shell-quoted, {name} placeholders kept
    argv         TEXT NOT NULL,        -- the template as a JSON list
    plan         TEXT NOT NULL,        -- JSON: {"params": [[name, [values]]], "configurations": [[values]],
                                       --        "runs": [[configuration index, repeat index]]} in run order
    runs_planned INTEGER NOT NULL,     -- len(plan.runs)
    repeat       INTEGER NOT NULL,     -- --repeat
    run_order    TEXT NOT NULL,        -- --order: interleave | sequential | shuffle
    seed         INTEGER NOT NULL,     -- --seed of the shuffle (0 for the other orders)
    tags         TEXT NOT NULL,        -- JSON object: --tag
    mode         TEXT,                 -- --mode as given: auto | layer | preload
    settings     TEXT,                 -- JSON object: the CLTRACE_* capture options given
    stabilise    INTEGER NOT NULL,     -- 1, or 0 for --no-stabilise
    stabilisers  TEXT,                 -- JSON list of [setting, applied] at the start (NULL with --cluster)
    adaptive     TEXT,                 -- JSON {param, max_runs, max_minutes}; NULL without --adaptive
    cluster      TEXT,                 -- JSON {address, boards}; NULL when run on this machine
    cwd          TEXT,
    host         TEXT,
    started_at   TEXT NOT NULL,
    ended_at     TEXT,                 -- NULL while it runs, or when cltrace was killed
    status       TEXT NOT NULL,        -- running | complete | interrupted | failed-runs
    cltrace_version TEXT
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
    clean_exit     INTEGER,            -- 1 if the shim flushed at exit
    first_launch_id INTEGER,           -- its launches are launch_rows first..last (NULL: none)
    last_launch_id  INTEGER
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
    global_mem_bytes INTEGER,
    opencl_version TEXT,               -- CL_DEVICE_VERSION; these four since schema 3, NULL when not known
    opencl_c_version TEXT,             -- CL_DEVICE_OPENCL_C_VERSION
    non_uniform_wg INTEGER,            -- CL_DEVICE_NON_UNIFORM_WORK_GROUP_SUPPORT: 1/0
    extensions    TEXT                 -- CL_DEVICE_EXTENSIONS
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
    error         INTEGER,
    seq           INTEGER              -- the record's order in its process (schema 3; NULL in older traces)
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
    num_args      INTEGER,
    seq           INTEGER              -- the record's order in its process (schema 3; NULL in older traces)
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

-- One row per distinct way a kernel was enqueued in one process: kernel, queue,
-- sizes, flags. Most programs launch a few shapes many times, so the per-launch
-- table below stays narrow (ingest speed, file size) and points here.
CREATE TABLE IF NOT EXISTS dispatches (
    dispatch_id   INTEGER PRIMARY KEY,
    run_id        INTEGER NOT NULL,
    process_id    INTEGER NOT NULL,
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
    error         INTEGER,             -- return code of the enqueue call
    own_event     INTEGER              -- 1 if the shim created the event
);

-- One row per kernel launch, in seq order; a process's launches have consecutive
-- launch_ids (processes.first_launch_id .. last_launch_id). Read it through the
-- launches view, which joins the dispatch and rebuilds absolute times.
CREATE TABLE IF NOT EXISTS launch_rows (
    launch_id     INTEGER PRIMARY KEY,
    process_id    INTEGER NOT NULL,
    dispatch_id   INTEGER NOT NULL,
    seq           INTEGER NOT NULL,    -- order within the process
    tid           INTEGER,
    region_id     INTEGER,             -- innermost region open on this thread at enqueue
    status        INTEGER NOT NULL,    -- times_status code: 0 ok, 1 profiling-error, 2 failed,
                                       -- 3 pending-at-exit, 4 missing, 5 untimed, 6 unknown
    enqueue_ns    INTEGER NOT NULL,    -- host clock on entry to the enqueue call
    return_dns    INTEGER NOT NULL,    -- host return - enqueue
    queued_ns     INTEGER,             -- device clock; these four NULL unless status = 0
    submit_dns    INTEGER,             -- submit - queued
    start_dns     INTEGER,             -- start - submit
    end_dns       INTEGER              -- end - start (the duration)
);

CREATE VIEW IF NOT EXISTS launches AS
SELECT l.launch_id, d.run_id, l.process_id, l.seq, l.tid, d.queue_id, d.device_id, d.kernel_id, d.kernel_name,
       d.api, d.work_dim, d.offset0, d.offset1, d.offset2, d.global0, d.global1, d.global2,
       d.local0, d.local1, d.local2, d.driver_local, d.work_groups, d.arg_bytes,
       l.enqueue_ns AS host_enqueue_ns, l.enqueue_ns + l.return_dns AS host_return_ns,
       l.queued_ns, l.queued_ns + l.submit_dns AS submit_ns,
       l.queued_ns + l.submit_dns + l.start_dns AS start_ns,
       l.queued_ns + l.submit_dns + l.start_dns + l.end_dns AS end_ns,
       l.end_dns AS duration_ns, d.error, d.own_event,
       -- the codes are native/cltrace_store.h's CLT_STORE_STATUSES (tests/unit/test_store_abi.py checks this CASE)
       CASE l.status WHEN 0 THEN 'ok' WHEN 1 THEN 'profiling-error' WHEN 2 THEN 'failed'
                     WHEN 3 THEN 'pending-at-exit' WHEN 4 THEN 'missing' WHEN 5 THEN 'untimed'
                     ELSE 'unknown' END AS times_status,
       l.region_id
FROM launch_rows l JOIN dispatches d ON d.dispatch_id = l.dispatch_id;

CREATE TABLE IF NOT EXISTS notes (
    run_id     INTEGER NOT NULL,
    process_id INTEGER,
    kind       TEXT NOT NULL,          -- see docs/schema.md: ext-lookup, truncated, pending-at-exit, stderr-tail ...
    value      INTEGER,
    message    TEXT
);

CREATE INDEX IF NOT EXISTS dispatches_run ON dispatches(run_id);
CREATE INDEX IF NOT EXISTS run_tags_kv ON run_tags(key, value);
CREATE INDEX IF NOT EXISTS programs_handle ON programs(process_id, handle);
CREATE INDEX IF NOT EXISTS runs_sweep ON runs(sweep_id, sweep_index);
