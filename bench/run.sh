#!/usr/bin/env bash
# retort's benchmark suite, side by side, in one run:
#   1. `retort heads` / `retort history` against `alembic heads` / `alembic history`
#      on the same 10,000-revision branchy graph;
#   2. `retort upgrade heads` of 1,000 small revisions against psql running the
#      same SQL with one transaction per revision, each on a fresh database;
#   3. `retort lint --all` against the `squawk` CLI (PyPI `squawk-cli`, the same
#      2.68.0 release retort links) on the same files: a generated history
#      with a statement of each rule family per revision, and one 5 MB file;
#   4. the engine benchmark (`cargo bench --bench engine`): load, validate,
#      plan and history on 1k/10k/100k-revision chains, branchy graphs,
#      cross-linked lineages and wide graphs (thousands of heads);
#   5. schema snapshots: `retort diff --from db --to URL` (two snapshots) on a
#      generated schema against `pg_dump --schema-only` run twice and `migra`
#      (installed with pip into the same virtualenv, when it installs);
#      then diff + DDL to a changed copy of it, `retort diff --sql` against
#      `migra`, each one's SQL applied to another copy and compared;
#   6. rehearsal: `retort rehearse --all` of a generated chain (every step up,
#      down, up again, with a schema snapshot after each and the lock trace)
#      against the same cycle done with psql and a `pg_dump --schema-only`
#      after each run (bench/rehearse_pg_dump.sh).
#
# Usage: bench/run.sh [--quick] [--skip-cli] [--skip-apply] [--skip-schema] [--skip-lint] [--skip-rehearse] [--skip-engine]
#
# Environment (all optional):
#   DATABASE_URL      server for the apply benchmark; the user must be allowed to
#                     create databases (default postgres://postgres@127.0.0.1:5432/postgres)
#   CARGO_TARGET_DIR  cargo's target directory (default: ./target)
#   ALEMBIC_VENV      a virtualenv that has alembic (default: $CARGO_TARGET_DIR/bench-venv,
#                     created with `pip install alembic psycopg2-binary` when missing)
#   BENCH_WORK        scratch directory (default: $CARGO_TARGET_DIR/bench-work, wiped first)
#   GRAPH_REVISIONS   size of the graph for heads/history (default 10000)
#   APPLY_REVISIONS   revisions applied in the apply benchmark (default 1000)
#   RETORT_RUNS, ALEMBIC_RUNS, APPLY_RUNS   timed runs per command (defaults 20, 5, 10)
#   SCHEMA_TABLES     tables of the generated schema for the snapshot benchmark (default 300)
#   SCHEMA_RUNS       timed runs per tool in the snapshot benchmark (default 10)
#   LINT_REVISIONS    revisions in the lint benchmark's history (default 346, a real history's size)
#   LINT_RUNS         timed runs per lint command (default 10)
#   SQUAWK_VENV       a virtualenv that has squawk (default: $CARGO_TARGET_DIR/squawk-venv,
#                     created with `pip install squawk-cli==2.68.0` when missing)
#   REHEARSE_REVISIONS  revisions of the rehearsed chain (default 346)
#   REHEARSE_RUNS     timed runs per approach in the rehearsal benchmark (default 3)
#   ENGINE_ARGS       arguments for the engine bench (default: all sizes and shapes)
#   BENCH_NO_HYPERFINE=1  time with the bash loop even when hyperfine is installed
#
# Timings are medians. Nothing here fails on a slow result: the script reports.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
export CARGO_TARGET_DIR=$TARGET
DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
WORK=${BENCH_WORK:-$TARGET/bench-work}
GRAPH_REVISIONS=${GRAPH_REVISIONS:-10000}
APPLY_REVISIONS=${APPLY_REVISIONS:-1000}
RETORT_RUNS=${RETORT_RUNS:-20}
ALEMBIC_RUNS=${ALEMBIC_RUNS:-5}
APPLY_RUNS=${APPLY_RUNS:-10}
ENGINE_ARGS=${ENGINE_ARGS:-}
SCHEMA_TABLES=${SCHEMA_TABLES:-300}
SCHEMA_RUNS=${SCHEMA_RUNS:-10}
LINT_REVISIONS=${LINT_REVISIONS:-346}
LINT_RUNS=${LINT_RUNS:-10}
REHEARSE_REVISIONS=${REHEARSE_REVISIONS:-346}
REHEARSE_RUNS=${REHEARSE_RUNS:-3}

RUN_CLI=1 RUN_APPLY=1 RUN_SCHEMA=1 RUN_LINT=1 RUN_REHEARSE=1 RUN_ENGINE=1
for arg in "$@"; do
    case $arg in
        --quick) RETORT_RUNS=5 ALEMBIC_RUNS=2 APPLY_RUNS=2 SCHEMA_RUNS=3 LINT_RUNS=3 REHEARSE_RUNS=1 ENGINE_ARGS=${ENGINE_ARGS:-"--sizes 1000,10000 --runs 3"} ;;
        --skip-cli) RUN_CLI=0 ;;
        --skip-apply) RUN_APPLY=0 ;;
        --skip-lint) RUN_LINT=0 ;;
        --skip-engine) RUN_ENGINE=0 ;;
        --skip-schema) RUN_SCHEMA=0 ;;
        --skip-rehearse) RUN_REHEARSE=0 ;;
        -h|--help) sed -n "2,$(grep -n '^# Timings are medians' "$0" | cut -d: -f1)p" "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown option '$arg' (see --help)" >&2; exit 2 ;;
    esac
done

RETORT=$TARGET/release/retort
GRAPHGEN=$TARGET/release/examples/graphgen
RESULTS=$WORK/results.md
HAVE_HYPERFINE=0
RETORT_CLI=0 # set once `retort heads` is seen to work

log() { printf '\n== %s\n' "$*" >&2; }
note() { printf '   %s\n' "$*" >&2; }

# ---------------------------------------------------------------- setup

build() {
    log "building retort and the graph generator (release)"
    cargo build --release --manifest-path "$ROOT/Cargo.toml" --bin retort --example graphgen
}

ensure_hyperfine() {
    if [ -n "${BENCH_NO_HYPERFINE:-}" ]; then
        note "BENCH_NO_HYPERFINE set: timing with a bash loop"
    elif command -v hyperfine >/dev/null; then
        HAVE_HYPERFINE=1
    elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        log "installing hyperfine"
        if apt-get install -y hyperfine >/dev/null 2>&1 ||
            { apt-get update >/dev/null 2>&1 && apt-get install -y hyperfine >/dev/null 2>&1; }; then
            HAVE_HYPERFINE=1
        fi
    fi
    if [ $HAVE_HYPERFINE = 0 ] && [ -z "${BENCH_NO_HYPERFINE:-}" ]; then
        note "hyperfine not available: timing with a bash loop instead"
    fi
}

ensure_alembic() {
    local venv=${ALEMBIC_VENV:-$TARGET/bench-venv}
    if [ ! -x "$venv/bin/alembic" ]; then
        log "creating a virtualenv with alembic in $venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet alembic psycopg2-binary
    fi
    ALEMBIC=$venv/bin/alembic
    PYTHON=$venv/bin/python
    note "$("$ALEMBIC" --version)"
}

ensure_squawk() {
    local venv=${SQUAWK_VENV:-$TARGET/squawk-venv}
    if [ ! -x "$venv/bin/squawk" ]; then
        log "creating a virtualenv with squawk in $venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet "squawk-cli==2.68.0" || true
    fi
    SQUAWK=$venv/bin/squawk
    PYTHON=${PYTHON:-$venv/bin/python}
    if [ -x "$SQUAWK" ]; then note "$("$SQUAWK" --version)"; else SQUAWK=; fi
}

# The URL of database $1 on the benchmark server.
database_url() {
    local base=${DATABASE_URL%%\?*}
    local query=${DATABASE_URL#"$base"}
    if [[ $base =~ ^[a-z]+://[^/]*$ ]]; then
        echo "$base/$1$query"
    else
        echo "${base%/*}/$1$query"
    fi
}

admin_sql() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -d "$DATABASE_URL" "$@" >/dev/null; }

# ---------------------------------------------------------------- timing

# time_command NAME RUNS WARMUP PREPARE COMMAND [none]: times COMMAND (a shell
# string; PREPARE runs untimed before each run, may be empty; with `none`,
# hyperfine runs COMMAND without a shell, which it needs to time commands of a
# few milliseconds) and appends
# "NAME wall_median_seconds cpu_mean_seconds runs" to $WORK/timings, where
# cpu is the user + system time of the command and its children.
time_command() {
    local name=$1 runs=$2 warmup=$3 prepare=$4 command=$5 shell=${6:-}
    note "timing $name ($runs runs): $command"
    if [ $HAVE_HYPERFINE = 1 ]; then
        local json=$WORK/hyperfine-$name.json
        local args=(--runs "$runs" --warmup "$warmup" --export-json "$json" --style basic)
        if [ -n "$prepare" ]; then args+=(--prepare "$prepare"); fi
        if [ "$shell" = none ]; then args+=(--shell=none); fi
        # From $WORK, where no retort.toml is found.
        (cd "$WORK" && hyperfine "${args[@]}" "$command") >&2
        "$PYTHON" -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(sys.argv[2], r["median"], r["user"] + r["system"], len(r["times"]))' "$json" "$name" >>"$WORK/timings"
    else
        local i walls=() cpus=() TIMEFORMAT='%U %S'
        for ((i = 0; i < warmup; i++)); do
            if [ -n "$prepare" ]; then bash -c "$prepare" >/dev/null 2>&1; fi
            (cd "$WORK" && bash -c "$command" >/dev/null 2>&1)
        done
        for ((i = 0; i < runs; i++)); do
            if [ -n "$prepare" ]; then bash -c "$prepare" >/dev/null 2>&1; fi
            local start end cpu
            start=$(date +%s%N)
            cpu=$({ time (cd "$WORK" && bash -c "$command" >/dev/null 2>&1); } 2>&1)
            end=$(date +%s%N)
            walls+=("$((end - start))")
            cpus+=("$(awk '{print $1 + $2}' <<<"$cpu")")
        done
        local wall cpu
        wall=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.6f\n", m / 1e9}')
        cpu=$(printf '%s\n' "${cpus[@]}" | awk '{t += $1} END {printf "%.6f\n", t / NR}')
        note "median $(human "$wall") wall, $(human "$cpu") cpu"
        echo "$name $wall $cpu $runs" >>"$WORK/timings"
    fi
}

median_of() { awk -v n="$1" '$1 == n {print $2}' "$WORK/timings" | tail -1; }
cpu_of() { awk -v n="$1" '$1 == n {print $3}' "$WORK/timings" | tail -1; }
# "median (min - max)" of a timing recorded with its spread.
timing_cell() {
    local line
    line=$(awk -v n="$1" '$1 == n' "$WORK/timings" | tail -1)
    if [ -z "$line" ]; then echo "n/a"; return; fi
    read -r _ med _ _ lo hi <<<"$line"
    echo "$(human "$med") ($(human "$lo") - $(human "$hi"))"
}
ratio_cell() {
    local line
    line=$(awk -v n="$1" '$1 == n' "$WORK/timings" | tail -1)
    if [ -z "$line" ]; then echo "n/a"; return; fi
    read -r _ med _ _ lo hi <<<"$line"
    printf '%.2fx (%.2fx - %.2fx)\n' "$med" "$lo" "$hi"
}

# Seconds to a readable duration.
human() {
    awk -v s="$1" 'BEGIN {
        if (s == "") print "n/a";
        else if (s >= 1) printf "%.2f s\n", s;
        else if (s >= 0.001) printf "%.1f ms\n", s * 1000;
        else printf "%.0f us\n", s * 1e6 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "n/a"; else printf "%.2fx\n", a / b }'; }

# ---------------------------------------------------------------- benchmarks

# The revision ids at the start of each output line, sorted.
first_words() { awk 'NF {print $1}' | sort; }

cli_benchmark() {
    local graph=$WORK/graph
    log "generating a $GRAPH_REVISIONS-revision branchy graph (retort files + Alembic project)"
    "$GRAPHGEN" --revisions "$GRAPH_REVISIONS" --shape branchy \
        --retort "$graph/retort" --alembic "$graph/alembic" --heads "$graph/heads.txt" \
        --database-url "$DATABASE_URL"
    local ini=$graph/alembic/alembic.ini

    # Same graph for both tools: both must report the generator's heads.
    "$ALEMBIC" -c "$ini" heads | first_words >"$graph/alembic-heads.txt"
    if ! diff -q "$graph/heads.txt" "$graph/alembic-heads.txt" >/dev/null; then
        echo "run.sh: alembic heads differ from the generated graph's heads" >&2
        diff "$graph/heads.txt" "$graph/alembic-heads.txt" >&2 || true
        exit 1
    fi
    (cd "$WORK" && "$RETORT" --migrations "$graph/retort" heads 2>/dev/null) | first_words >"$graph/retort-heads.txt" || true
    if diff -q "$graph/heads.txt" "$graph/retort-heads.txt" >/dev/null; then
        RETORT_CLI=1
        note "retort and alembic report the same $(wc -l <"$graph/heads.txt") heads"
        (cd "$WORK" && "$RETORT" --migrations "$graph/retort" history) >"$graph/retort-history.txt" 2>&1 || true
        "$ALEMBIC" -c "$ini" history >"$graph/alembic-history.txt" 2>&1 || true
        if cmp -s "$graph/retort-history.txt" "$graph/alembic-history.txt"; then
            note "history output is identical ($(wc -l <"$graph/retort-history.txt") lines)"
        else
            note "history output differs from alembic's: see diff $graph/retort-history.txt $graph/alembic-history.txt"
        fi
    else
        note "retort heads did not list the graph's heads (is the CLI built?): skipping retort's timings"
    fi

    local q_retort q_dir q_ini q_alembic
    q_retort=$(printf '%q' "$RETORT")
    q_dir=$(printf '%q' "$graph/retort")
    q_alembic=$(printf '%q' "$ALEMBIC")
    q_ini=$(printf '%q' "$ini")
    if [ $RETORT_CLI = 1 ]; then
        time_command retort-heads "$RETORT_RUNS" 3 "" "$q_retort --migrations $q_dir heads" none
        time_command retort-history "$RETORT_RUNS" 3 "" "$q_retort --migrations $q_dir history" none
    fi
    # One warm-up run each: Python compiles the revision modules on first load.
    time_command alembic-heads "$ALEMBIC_RUNS" 1 "" "$q_alembic -c $q_ini heads" none
    time_command alembic-history "$ALEMBIC_RUNS" 1 "" "$q_alembic -c $q_ini history" none
}

# Applying revisions is timed with our own loop rather than hyperfine so that
# retort and psql runs alternate: on a shared machine the server's speed
# (fsync above all) drifts, and alternating exposes both to the same drift.
# Each pair's ratio is kept, and the median ratio reported.
#
# Two variants: durable (the server's defaults: every COMMIT waits for its WAL
# flush) and with synchronous_commit=off set on the fresh database, which takes
# the disk out and leaves the work of the tools and the server's SQL.
apply_benchmark() {
    local apply=$WORK/apply
    log "generating a $APPLY_REVISIONS-revision chain to apply (retort files + psql script)"
    "$GRAPHGEN" --revisions "$APPLY_REVISIONS" --shape chain \
        --retort "$apply/retort" --psql "$apply/psql.sql" --heads "$apply/heads.txt"
    APPLY_LAST=$(cat "$apply/heads.txt")
    APPLY_WITH_RETORT=0
    if [ $RETORT_CLI = 1 ] || "$RETORT" --help 2>/dev/null | grep -q upgrade; then
        APPLY_WITH_RETORT=1
    else
        note "retort CLI not available: timing psql only"
    fi
    apply_series apply durable "$apply"
    apply_series apply-async "synchronous_commit=off" "$apply"
    admin_sql -c "DROP DATABASE IF EXISTS retort_bench_apply_psql" -c "DROP DATABASE IF EXISTS retort_bench_apply_retort"
}

# apply_series NAME durable|synchronous_commit=off DIR
apply_series() {
    local name=$1 mode=$2 apply=$3
    log "applying $APPLY_REVISIONS revisions ($mode): $APPLY_RUNS timed runs each after one warm-up, retort and psql alternating"
    local run psql_times=() retort_times=() ratios=()
    for ((run = 0; run <= APPLY_RUNS; run++)); do
        local psql_time retort_time=""
        if ((run % 2 == 0)); then
            psql_time=$(apply_once psql "$apply" "$mode")
            if [ $APPLY_WITH_RETORT = 1 ]; then retort_time=$(apply_once retort "$apply" "$mode"); fi
        else
            if [ $APPLY_WITH_RETORT = 1 ]; then retort_time=$(apply_once retort "$apply" "$mode"); fi
            psql_time=$(apply_once psql "$apply" "$mode")
        fi
        note "run $run$( ((run == 0)) && echo ' (warm-up)'): psql $(human "$psql_time")${retort_time:+, retort $(human "$retort_time")}"
        if ((run == 0)); then continue; fi
        psql_times+=("$psql_time")
        if [ -n "$retort_time" ]; then
            retort_times+=("$retort_time")
            ratios+=("$(awk -v a="$retort_time" -v b="$psql_time" 'BEGIN { printf "%.4f\n", a / b }')")
        fi
    done
    echo "$name-psql $(median "${psql_times[@]}") - $APPLY_RUNS $(spread "${psql_times[@]}")" >>"$WORK/timings"
    if [ $APPLY_WITH_RETORT = 1 ]; then
        echo "$name-retort $(median "${retort_times[@]}") - $APPLY_RUNS $(spread "${retort_times[@]}")" >>"$WORK/timings"
        echo "$name-ratio $(median "${ratios[@]}") - $APPLY_RUNS $(spread "${ratios[@]}")" >>"$WORK/timings"
    fi
}

# apply_once psql|retort DIR MODE: applies the chain to a fresh database,
# checks the result, and prints the wall time in seconds.
apply_once() {
    local who=$1 apply=$2 mode=$3
    local db=retort_bench_apply_$who
    local url
    url=$(database_url "$db")
    admin_sql -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    if [ "$mode" != durable ]; then
        admin_sql -c "ALTER DATABASE $db SET ${mode%%=*} = '${mode#*=}'"
    fi
    # Flush what the previous run and the DROP/CREATE left dirty, so no run
    # pays for the one before it (needs superuser or pg_checkpoint).
    admin_sql -c "CHECKPOINT" 2>/dev/null || true
    local start end
    start=$(date +%s%N)
    case $who in
        psql) psql -X -q -v ON_ERROR_STOP=1 -d "$url" -f "$apply/psql.sql" >/dev/null ;;
        retort) (cd "$WORK" && "$RETORT" --migrations "$apply/retort" --database-url "$url" upgrade heads >/dev/null 2>&1) ;;
    esac
    end=$(date +%s%N)
    check_applied "$url" "$APPLY_LAST" "$who"
    admin_sql -c "DROP DATABASE $db"
    awk -v ns="$((end - start))" 'BEGIN { printf "%.6f\n", ns / 1e9 }'
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {printf "%.6f\n", (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
# "min max" of the arguments.
spread() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 {min = $1} {max = $1} END {print min, max}'; }

# check_applied URL LAST_ID WHO: the run left every table and the version row
# behind, so the timing measured real work.
check_applied() {
    local tables version
    tables=$(psql -X -A -t -d "$1" -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 't\\_%'")
    version=$(psql -X -A -t -d "$1" -c "SELECT string_agg(version_num, ',') FROM alembic_version")
    if [ "$tables" != "$APPLY_REVISIONS" ] || [ "$version" != "$2" ]; then
        echo "run.sh: $3 run left $tables tables and version '$version' (expected $APPLY_REVISIONS and '$2')" >&2
        exit 1
    fi
}

# lint_history DIR N: N chained revisions, each one statement family in
# turn on the table the group of seven created: create table + index,
# add a required column, retype a column, add a CHECK, CREATE INDEX
# CONCURRENTLY (transactional: false), rename a column, drop a column after
# SET lock_timeout; each with the downgrade undoing it.
lint_history() {
    mkdir -p "$1"
    awk -v dir="$1" -v n="$2" 'BEGIN {
        for (i = 1; i <= n; i++) {
            f = i % 7; base = i - f; t = "t_" base
            id = sprintf("%012x", i); down = (i > 1) ? sprintf("%012x", i - 1) : ""
            tx = "true"
            if (f == 0) {
                t = "t_" i
                up = "CREATE TABLE " t " (id bigint PRIMARY KEY, name varchar(40), created timestamp, amount int);\nCREATE INDEX " t "_name ON " t " (name);"
                dn = "DROP TABLE " t ";"
            } else if (f == 1) {
                up = "ALTER TABLE " t " ADD COLUMN c_" base " int NOT NULL;"
                dn = "ALTER TABLE " t " DROP COLUMN c_" base ";"
            } else if (f == 2) {
                up = "ALTER TABLE " t " ALTER COLUMN name TYPE text;"
                dn = "ALTER TABLE " t " ALTER COLUMN name TYPE varchar(40);"
            } else if (f == 3) {
                up = "ALTER TABLE " t " ADD CONSTRAINT ck_" i " CHECK (amount >= 0);"
                dn = "ALTER TABLE " t " DROP CONSTRAINT ck_" i ";"
            } else if (f == 4) {
                tx = "false"
                up = "CREATE INDEX CONCURRENTLY ix_" i " ON " t " (created);"
                dn = "DROP INDEX CONCURRENTLY ix_" i ";"
            } else if (f == 5) {
                up = "ALTER TABLE " t " RENAME COLUMN amount TO amount_" i ";"
                dn = "ALTER TABLE " t " RENAME COLUMN amount_" i " TO amount;"
            } else {
                up = "SET lock_timeout = 2000;\nALTER TABLE " t " DROP COLUMN c_" base ";"
                dn = "ALTER TABLE " t " ADD COLUMN c_" base " int;"
            }
            file = dir "/" id "_lint_" i ".sql"
            printf "-- revision: %s\n-- down_revision: %s\n-- message: lint %d\n-- transactional: %s\n\n-- migrate:upgrade\n%s\n\n-- migrate:downgrade\n%s\n", id, down, i, tx, up, dn > file
            close(file)
        }
    }'
}

# big_revision DIR BYTES: one non-transactional revision of about BYTES of
# ALTER TABLE and CREATE INDEX statements on 100 tables.
big_revision() {
    mkdir -p "$1"
    awk -v file="$1/000000000001_big.sql" -v bytes="$2" 'BEGIN {
        printf "-- revision: 000000000001\n-- down_revision:\n-- transactional: false\n\n-- migrate:upgrade\n" > file
        written = 0
        for (i = 0; written < bytes; i++) {
            t = "big_" (i % 100)
            if (i % 3 == 0) s = sprintf("ALTER TABLE %s ADD COLUMN c_%d bigint NOT NULL DEFAULT 0;\n", t, i)
            else if (i % 3 == 1) s = sprintf("CREATE INDEX CONCURRENTLY ix_%d ON %s (c_%d);\n", i, t, i - 1)
            else s = sprintf("ALTER TABLE %s ALTER COLUMN c_%d TYPE numeric;\n", t, i - 2)
            printf "%s", s > file
            written += length(s)
        }
        close(file)
    }'
}

lint_benchmark() {
    local dir=$WORK/lint
    log "generating a $LINT_REVISIONS-revision history for the lint and a 5 MB revision"
    lint_history "$dir/history" "$LINT_REVISIONS"
    big_revision "$dir/big" 5000000
    # No database: retort lints every revision on its own, as squawk does.
    local nodb=(--database-url postgres://nobody@127.0.0.1:1/x)
    "$RETORT" --migrations "$dir/history" "${nodb[@]}" lint --all >"$dir/retort-history.txt" 2>/dev/null || true
    "$RETORT" --migrations "$dir/big" "${nodb[@]}" lint --all >"$dir/retort-big.txt" 2>/dev/null || true
    note "retort: $(tail -1 "$dir/retort-history.txt")"
    time_command lint-retort-history "$LINT_RUNS" 1 "" \
        "'$RETORT' --migrations '$dir/history' --database-url postgres://nobody@127.0.0.1:1/x lint --all || true"
    time_command lint-retort-big "$LINT_RUNS" 1 "" \
        "'$RETORT' --migrations '$dir/big' --database-url postgres://nobody@127.0.0.1:1/x lint --all || true"
    # squawk's gcc reporter prints one line per finding, as retort does; its
    # default tty reporter draws each finding with the source around it,
    # which on the 5 MB file took minutes.
    if [ -n "$SQUAWK" ]; then
        "$SQUAWK" --reporter gcc "$dir"/history/*.sql >"$dir/squawk-history.txt" 2>&1 || true
        note "squawk: $(grep -c ': warning: \|: error: ' "$dir/squawk-history.txt") findings on the history"
        time_command lint-squawk-history "$LINT_RUNS" 1 "" "'$SQUAWK' --reporter gcc '$dir'/history/*.sql >/dev/null || true"
        time_command lint-squawk-big "$LINT_RUNS" 1 "" "'$SQUAWK' --reporter gcc '$dir'/big/*.sql >/dev/null || true"
    fi
}

engine_benchmark() {
    log "engine benchmark (cargo bench --bench engine -- $ENGINE_ARGS)"
    # shellcheck disable=SC2086 # ENGINE_ARGS is a list of words
    cargo bench --manifest-path "$ROOT/Cargo.toml" --bench engine -- $ENGINE_ARGS | tee "$WORK/engine.txt"
}

# The SQL of a schema with $1 tables: each with an identity key, defaults,
# a check, a foreign key to the one before, two indexes (one partial) and a
# comment; a view every 10 tables, a trigger every 20, an enum and a domain.
schema_sql() {
    awk -v n="$1" 'BEGIN {
        print "CREATE TYPE status AS ENUM (\x27new\x27, \x27open\x27, \x27closed\x27);"
        print "CREATE DOMAIN amount AS numeric(12,2) CHECK (VALUE >= 0);"
        print "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;"
        for (i = 1; i <= n; i++) {
            ref = (i > 1) ? sprintf(", parent_id bigint REFERENCES t%d", i - 1) : ""
            printf "CREATE TABLE t%d (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL DEFAULT \x27\x27, state status NOT NULL DEFAULT \x27new\x27, total amount, created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz, note text%s, CONSTRAINT t%d_name_check CHECK (length(name) < 200));\n", i, ref, i
            printf "CREATE INDEX t%d_name_idx ON t%d (lower(name));\n", i, i
            printf "CREATE INDEX t%d_open_idx ON t%d (created_at DESC) WHERE state = \x27open\x27;\n", i, i
            printf "COMMENT ON TABLE t%d IS \x27table %d\x27;\n", i, i
            if (i % 10 == 0) printf "CREATE VIEW v%d AS SELECT id, name FROM t%d WHERE state <> \x27closed\x27;\n", i, i
            if (i % 20 == 0) printf "CREATE TRIGGER t%d_touch BEFORE UPDATE ON t%d FOR EACH ROW EXECUTE FUNCTION touch();\n", i, i
        }
    }'
}

ensure_migra() {
    MIGRA=$(dirname "$PYTHON")/migra
    if [ ! -x "$MIGRA" ]; then
        log "installing migra into the benchmark virtualenv"
        "$(dirname "$PYTHON")/pip" install --quiet migra psycopg2-binary >&2 || true
    fi
    if [ ! -x "$MIGRA" ]; then
        note "migra did not install: left out"
        MIGRA=
    fi
}

schema_benchmark() {
    local name=retort_bench_schema
    log "schema snapshots on a generated $SCHEMA_TABLES-table schema"
    admin_sql -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name"
    local url
    url=$(database_url "$name")
    schema_sql "$SCHEMA_TABLES" | PGOPTIONS="-c client_min_messages=warning" \
        psql -X -q -v ON_ERROR_STOP=1 -d "$url" >/dev/null
    # Both sides the same database: every tool reads the schema twice.
    if ! (cd "$WORK" && "$RETORT" --database-url "$url" diff --from db --to "$url" >/dev/null); then
        note "retort diff found differences between a database and itself"
        return 1
    fi
    time_command schema-retort "$SCHEMA_RUNS" 1 "" \
        "$RETORT --database-url $url diff --from db --to $url" none
    time_command schema-pg-dump "$SCHEMA_RUNS" 1 "" \
        "pg_dump --schema-only $url >/dev/null && pg_dump --schema-only $url >/dev/null"
    ensure_migra
    if [ -n "$MIGRA" ]; then
        local migra_url=${url/#postgres:\/\//postgresql+psycopg2://}
        migra_url=${migra_url/#postgresql:\/\//postgresql+psycopg2://}
        time_command schema-migra "$SCHEMA_RUNS" 1 "" "$MIGRA --unsafe $migra_url $migra_url" none
    fi
    autogen_benchmark "$name"
    admin_sql -c "DROP DATABASE IF EXISTS $name"
}

# Rehearsal of a $REHEARSE_REVISIONS-revision chain, base to heads, each run
# on a fresh empty database: retort (scratch database, snapshots, lock
# trace) against psql + pg_dump per run of each step.
rehearse_benchmark() {
    local chain=$WORK/rehearse name=retort_bench_rehearse
    log "rehearsing a $REHEARSE_REVISIONS-revision chain: retort rehearse --all vs psql + pg_dump per step"
    "$GRAPHGEN" --revisions "$REHEARSE_REVISIONS" --shape chain --retort "$chain" >/dev/null
    local url
    url=$(database_url "$name")
    local fresh="psql -X -q -d $DATABASE_URL -c 'DROP DATABASE IF EXISTS $name' -c 'CREATE DATABASE $name'"
    if ! (cd "$WORK" && bash -c "$fresh" >/dev/null 2>&1 \
        && "$RETORT" --migrations "$chain" --database-url "$url" rehearse --all >"$WORK/rehearse.txt" 2>/dev/null); then
        note "retort rehearse --all did not pass on the generated chain: see $WORK/rehearse.txt"
        return 1
    fi
    note "$(tail -1 "$WORK/rehearse.txt")"
    time_command rehearse-retort "$REHEARSE_RUNS" 0 "$fresh" \
        "$RETORT --migrations $chain --database-url $url rehearse --all"
    time_command rehearse-pg-dump "$REHEARSE_RUNS" 0 "$fresh" \
        "$ROOT/bench/rehearse_pg_dump.sh $url $chain"
    admin_sql -c "DROP DATABASE IF EXISTS $name"
}

# Changes made to a copy of the generated schema for the diff + DDL
# benchmark: added columns, an enum value in the middle, a column a view
# reads retyped, a domain check, indexes, defaults, comments, a table.
autogen_changes_sql() {
    awk 'BEGIN {
        print "ALTER TYPE status ADD VALUE \x27pending\x27 BEFORE \x27open\x27;"
        print "ALTER DOMAIN amount ADD CONSTRAINT amount_small CHECK (VALUE < 1000000);"
        for (i = 1; i <= 30; i++) printf "ALTER TABLE t%d ADD COLUMN extra integer NOT NULL DEFAULT 0;\n", i
        print "DROP VIEW v10; ALTER TABLE t10 ALTER COLUMN name TYPE varchar(300);"
        print "CREATE VIEW v10 AS SELECT id, name FROM t10 WHERE state <> \x27closed\x27;"
        for (i = 40; i <= 60; i++) printf "CREATE INDEX t%d_note_idx ON t%d (note);\n", i, i
        for (i = 61; i <= 70; i++) printf "DROP INDEX t%d_open_idx;\n", i
        for (i = 71; i <= 80; i++) printf "ALTER TABLE t%d ALTER COLUMN note SET DEFAULT \x27n\x27;\n", i
        for (i = 81; i <= 90; i++) printf "COMMENT ON COLUMN t%d.note IS \x27note %d\x27;\n", i, i
        print "CREATE TABLE audit (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, t1_id bigint REFERENCES t1, at timestamptz NOT NULL DEFAULT now());"
    }'
}

# diff + DDL between database $1 and a changed copy: `retort diff --sql`
# against `migra`, timed, and each one's SQL applied to another copy of $1
# and compared with the changed copy (the differences left are counted).
autogen_benchmark() {
    local base=$1 changed=${1}_changed
    local url to
    url=$(database_url "$base")
    to=$(database_url "$changed")
    admin_sql -c "DROP DATABASE IF EXISTS $changed" -c "CREATE DATABASE $changed TEMPLATE $base"
    autogen_changes_sql | PGOPTIONS="-c client_min_messages=warning" \
        psql -X -q -v ON_ERROR_STOP=1 -d "$to" >/dev/null
    log "diff + DDL between the $SCHEMA_TABLES-table schema and a changed copy"
    # diff exits 1 when the schemas differ, as they do here.
    time_command autogen-retort "$SCHEMA_RUNS" 1 "" \
        "$RETORT --database-url $url diff --from $url --to $to --sql >/dev/null || true"
    (cd "$WORK" && "$RETORT" --database-url "$url" diff --from "$url" --to "$to" --sql) \
        >"$WORK/autogen-retort.sql" 2>/dev/null || true
    if [ -n "$MIGRA" ]; then
        local from_m=${url/#postgres:\/\//postgresql+psycopg2://} to_m=${to/#postgres:\/\//postgresql+psycopg2://}
        time_command autogen-migra "$SCHEMA_RUNS" 1 "" "$MIGRA --unsafe $from_m $to_m >/dev/null || true"
        "$MIGRA" --unsafe "$from_m" "$to_m" >"$WORK/autogen-migra.sql" 2>/dev/null || true
    fi
    local tool
    for tool in retort migra; do
        if [ ! -s "$WORK/autogen-$tool.sql" ]; then continue; fi
        local copy=${base}_$tool
        admin_sql -c "DROP DATABASE IF EXISTS $copy" -c "CREATE DATABASE $copy TEMPLATE $base"
        local copy_url applied=ok
        copy_url=$(database_url "$copy")
        PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -1 -d "$copy_url" \
            -f "$WORK/autogen-$tool.sql" >/dev/null 2>"$WORK/autogen-$tool.err" || applied=failed
        local left
        left=$( (cd "$WORK" && "$RETORT" --database-url "$copy_url" diff --from "$copy_url" --to "$to") 2>/dev/null \
            | grep -vc '^No differences\.$' || true)
        echo "$tool $applied $left $(grep -c ';' "$WORK/autogen-$tool.sql")" >>"$WORK/autogen-fidelity"
        note "$tool: SQL $applied, $left differences left"
        admin_sql -c "DROP DATABASE IF EXISTS $copy"
    done
    admin_sql -c "DROP DATABASE IF EXISTS $changed"
}

# ---------------------------------------------------------------- report

report() {
    {
        echo "# retort benchmark results"
        echo
        echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -sr), $(psql --version | head -1)"
        echo "Load average when the report was written: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine inflates wall times; cpu = user + system time)"
        echo
        if [ $RUN_CLI = 1 ]; then
            echo "## Read commands on a $GRAPH_REVISIONS-revision branchy graph (wall: median; cpu: mean user + system)"
            echo
            echo "| command | retort wall | alembic wall | alembic / retort (wall) | retort cpu | alembic cpu | alembic / retort (cpu) |"
            echo "|---|---:|---:|---:|---:|---:|---:|"
            local cmd
            for cmd in heads history; do
                local rw aw rc ac
                rw=$(median_of "retort-$cmd") aw=$(median_of "alembic-$cmd")
                rc=$(cpu_of "retort-$cmd") ac=$(cpu_of "alembic-$cmd")
                echo "| $cmd | $(human "$rw") | $(human "$aw") | $(ratio "$aw" "$rw") | $(human "$rc") | $(human "$ac") | $(ratio "$ac" "$rc") |"
            done
            echo
        fi
        if [ $RUN_APPLY = 1 ]; then
            echo "## Applying $APPLY_REVISIONS revisions to a fresh database"
            echo
            echo "Wall time, median of $APPLY_RUNS runs (min - max); retort and psql runs alternate, each on a freshly"
            echo "created database. The ratio is the median of the per-pair ratios. The server does most of the work,"
            echo "so client cpu is not compared. \"durable\": the server's defaults, every COMMIT waits for the WAL flush;"
            echo "\"synchronous_commit=off\": set on the fresh database, which leaves out the disk."
            echo
            echo "| commits | retort upgrade heads | psql, one transaction per revision | retort / psql (target <= 1.25x) |"
            echo "|---|---:|---:|---:|"
            echo "| durable | $(timing_cell apply-retort) | $(timing_cell apply-psql) | $(ratio_cell apply-ratio) |"
            echo "| synchronous_commit=off | $(timing_cell apply-async-retort) | $(timing_cell apply-async-psql) | $(ratio_cell apply-async-ratio) |"
            echo
        fi
        if [ $RUN_SCHEMA = 1 ]; then
            echo "## Schema snapshots of a generated $SCHEMA_TABLES-table schema, read twice (wall: median of $SCHEMA_RUNS; cpu: mean)"
            echo
            echo "| tool | wall | / retort (wall) | cpu |"
            echo "|---|---:|---:|---:|"
            local tool
            for tool in retort pg-dump migra; do
                local w
                w=$(median_of "schema-$tool")
                if [ -z "$w" ]; then continue; fi
                echo "| $tool | $(human "$w") | $(ratio "$w" "$(median_of schema-retort)") | $(human "$(cpu_of "schema-$tool")") |"
            done
            echo
            echo "## Diff + DDL from that schema to a changed copy (wall: median of $SCHEMA_RUNS; the SQL applied to another copy, then compared with the changed one)"
            echo
            echo "| tool | wall | / retort (wall) | cpu | SQL applied | differences left |"
            echo "|---|---:|---:|---:|---|---:|"
            for tool in retort migra; do
                local w
                w=$(median_of "autogen-$tool")
                if [ -z "$w" ]; then continue; fi
                echo "| $tool | $(human "$w") | $(ratio "$w" "$(median_of autogen-retort)") | $(human "$(cpu_of "autogen-$tool")") | $(awk -v t="$tool" '$1 == t {print $2}' "$WORK/autogen-fidelity" 2>/dev/null) | $(awk -v t="$tool" '$1 == t {print $3}' "$WORK/autogen-fidelity" 2>/dev/null) |"
            done
            echo
        fi
        if [ $RUN_LINT = 1 ]; then
            echo "## Lint: retort lint --all vs squawk on the same files (wall: median of $LINT_RUNS; cpu: mean)"
            echo
            echo "| files | retort wall | squawk wall | squawk / retort (wall) | retort cpu | squawk cpu |"
            echo "|---|---:|---:|---:|---:|---:|"
            local what
            for what in history big; do
                local rw sw rc sc
                rw=$(median_of "lint-retort-$what") sw=$(median_of "lint-squawk-$what")
                rc=$(cpu_of "lint-retort-$what") sc=$(cpu_of "lint-squawk-$what")
                echo "| $what | $(human "$rw") | $(human "$sw") | $(ratio "$sw" "$rw") | $(human "$rc") | $(human "$sc") |"
            done
            echo
        fi
        if [ $RUN_REHEARSE = 1 ]; then
            echo "## Rehearsal of a $REHEARSE_REVISIONS-revision chain, base to heads (wall: median of $REHEARSE_RUNS; cpu: mean)"
            echo
            echo "Each step: upgrade, downgrade, upgrade again, the schema read after each run and compared."
            echo
            echo "| approach | wall | / retort (wall) | cpu |"
            echo "|---|---:|---:|---:|"
            local way
            for way in retort pg-dump; do
                local w
                w=$(median_of "rehearse-$way")
                if [ -z "$w" ]; then continue; fi
                echo "| $way | $(human "$w") | $(ratio "$w" "$(median_of rehearse-retort)") | $(human "$(cpu_of "rehearse-$way")") |"
            done
            echo
        fi
        if [ $RUN_ENGINE = 1 ]; then
            echo "## Engine (in process)"
            echo
            echo '```'
            sed -n '/^retort engine benchmark/,$p' "$WORK/engine.txt"
            echo '```'
        fi
    } >"$RESULTS"
    log "results (also in $RESULTS)"
    cat "$RESULTS"
}

main() {
    rm -rf "$WORK"
    mkdir -p "$WORK"
    : >"$WORK/timings"
    build
    if [ $RUN_CLI = 1 ] || [ $RUN_APPLY = 1 ] || [ $RUN_SCHEMA = 1 ] || [ $RUN_REHEARSE = 1 ]; then
        ensure_hyperfine
        ensure_alembic
    fi
    if [ $RUN_CLI = 1 ]; then cli_benchmark; fi
    if [ $RUN_APPLY = 1 ]; then apply_benchmark; fi
    if [ $RUN_SCHEMA = 1 ]; then schema_benchmark; fi
    if [ $RUN_LINT = 1 ]; then
        ensure_squawk
        lint_benchmark
    fi
    if [ $RUN_REHEARSE = 1 ]; then rehearse_benchmark; fi
    if [ $RUN_ENGINE = 1 ]; then engine_benchmark; fi
    report
}

main
