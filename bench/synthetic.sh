#!/usr/bin/env bash
# Autogenerate fidelity on small synthetic cases, beside migra.
#
# Usage: bench/synthetic.sh [CASE.sql ...]   (default: bench/cases/*.sql)
#
# A case file holds plain SQL in sections, each opened by a line of its own:
#   -- before        the schema before the change
#   -- after         the schema after it
#   -- rows before   (optional) rows put into a copy of `before` ahead of the upgrade
#   -- rows after    (optional) rows put into a copy of `after` ahead of the downgrade
# Lines above the first section describe the case.
#
# For each case `before` and `after` are built in fresh databases (psql,
# ON_ERROR_STOP). Each tool writes the SQL for both directions (retort:
# `retort diff --sql --accept-renames --allow-drop`; migra: `migra --unsafe`); the SQL is
# applied with psql to a fresh copy of the source (CREATE DATABASE ...
# TEMPLATE, its rows inserted first), and `retort diff` of that copy
# against the target judges it: exact, column order only (no ALTER can
# reorder columns), apply failed (psql stopped on an error), differs. The
# conventions are bench/fidelity.sh's.
#
# Environment:
#   DATABASE_URL   a server where databases can be created
#                  (default postgres://postgres@127.0.0.1:5432/postgres)
#   RETORT         the retort binary (default $CARGO_TARGET_DIR/debug/retort)
#   MIGRA          the migra binary (default: migra on PATH, else installed
#                  with `pip install migra psycopg2-binary`; left out when
#                  that fails)
#   SYNTH_OUT      directory for the per-case SQL, psql output and diffs
#                  (default a new directory under /tmp)
set -uo pipefail

OUT=${SYNTH_OUT:-$(mktemp -d /tmp/synthetic.XXXXXX)}
PREFIX=syn_$$
BENCH=synthetic
# shellcheck source=bench/fidelity-lib.sh
source "$(dirname "$0")/fidelity-lib.sh"
mkdir -p "$OUT"

MIGRA=${MIGRA:-$(command -v migra || true)}
if [ -z "$MIGRA" ]; then
    log "migra not on PATH: pip install migra psycopg2-binary"
    pip install -q migra psycopg2-binary >&2 && MIGRA=$(command -v migra || true)
fi
[ -x "$RETORT" ] || { log "no retort binary at $RETORT (cargo build --locked)"; exit 3; }

# section FILE NAME: the lines of section NAME (without its marker).
section() {
    awk -v want="-- $2" '
        /^-- (before|after|rows before|rows after)[[:space:]]*$/ { sub(/[[:space:]]+$/, ""); on = ($0 == want); next }
        on { print }' "$1"
}

# build DB FILE NAME: a fresh database holding section NAME of FILE.
build() {
    sql "CREATE DATABASE $1" &&
        section "$2" "$3" | psql -X -q -v ON_ERROR_STOP=1 -d "$(db_url "$1")" -f - >"$OUT/$1.build" 2>&1
}

# check TOOL FROM_DB TO_DB TAG ROWS: generate FROM→TO with TOOL, apply it to a
# copy of FROM holding ROWS, compare with TO. Prints "outcome milliseconds".
check() {
    local tool=$1 from=$2 to=$3 tag=$4 rows=$5 copy=${PREFIX}_copy start ms
    local gen=$OUT/$tag.$tool.sql
    start=$(now_ms)
    case $tool in
    retort) "$RETORT" diff --from "$(db_url "$from")" --to "$(db_url "$to")" --sql --accept-renames --allow-drop >"$gen" 2>"$gen.err" ;;
    migra) "$MIGRA" --unsafe "$(migra_url "$from")" "$(migra_url "$to")" >"$gen" 2>"$gen.err" ;;
    esac
    ms=$(($(now_ms) - start))
    sql "DROP DATABASE IF EXISTS $copy"
    sql "CREATE DATABASE $copy TEMPLATE $from"
    if ! printf '%s\n' "$rows" | psql -X -q -v ON_ERROR_STOP=1 -d "$(db_url $copy)" -f - >"$OUT/$tag.rows" 2>&1; then
        log "$tag: the case's rows do not insert (see $OUT/$tag.rows)"
        echo "bad-rows $ms"
        return
    fi
    if ! psql -X -q -v ON_ERROR_STOP=1 -d "$(db_url $copy)" -f "$gen" >"$OUT/$tag.$tool.apply" 2>&1; then
        echo "apply-failed $ms"
        return
    fi
    echo "$(diff_outcome "$copy" "$to" "$OUT/$tag.$tool.diff") $ms"
}

declare -A count
times_retort=()
times_migra=()
tools=(retort)
[ -n "$MIGRA" ] && tools+=(migra) || log "migra not found: left out"

if [ $# -gt 0 ]; then cases=("$@"); else cases=("$ROOT"/bench/cases/*.sql); fi
log "${#cases[@]} cases; work files in $OUT"

n=0
printf '%-36s %-14s %-14s %-14s %-14s\n' case retort-up retort-down migra-up migra-down
for file in "${cases[@]}"; do
    name=$(basename "$file" .sql)
    before=${PREFIX}_before
    after=${PREFIX}_after
    sql "DROP DATABASE IF EXISTS $before"
    sql "DROP DATABASE IF EXISTS $after"
    if ! build "$before" "$file" before || ! build "$after" "$file" after; then
        log "$name: a schema does not build (see $OUT/$before.build, $OUT/$after.build): skipped"
        continue
    fi
    rows_up=$(section "$file" "rows before")
    rows_down=$(section "$file" "rows after")
    line=$(printf '%-36s' "$name")
    for tool in "${tools[@]}"; do
        for dir in up down; do
            if [ $dir = up ]; then
                r=$(check "$tool" "$before" "$after" "$name.up" "$rows_up")
            else
                r=$(check "$tool" "$after" "$before" "$name.down" "$rows_down")
            fi
            outcome=${r% *}
            count[$tool.$dir.$outcome]=$((${count[$tool.$dir.$outcome]:-0} + 1))
            if [ "$tool" = retort ]; then times_retort+=("${r#* }"); else times_migra+=("${r#* }"); fi
            line+=$(printf ' %-14s' "$outcome")
        done
    done
    echo "$line"
    n=$((n + 1))
done

echo
echo "$n cases checked, both directions"
echo "| tool | exact up | exact down | column order only | apply failed | differs | median ms per diff |"
echo "|---|---|---|---|---|---|---|"
for tool in "${tools[@]}"; do
    c() { echo $((${count[$tool.up.$1]:-0} + ${count[$tool.down.$1]:-0})); }
    if [ "$tool" = retort ]; then med=$(median "${times_retort[@]}"); else med=$(median "${times_migra[@]}"); fi
    echo "| $tool | ${count[$tool.up.exact]:-0}/$n | ${count[$tool.down.exact]:-0}/$n | $(c column-order) | $(c apply-failed) | $(c differs) | $med |"
done
