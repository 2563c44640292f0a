#!/usr/bin/env bash
# Autogenerate fidelity on a real migration history, beside migra.
#
# Usage: bench/fidelity.sh [--from KIND] DIR
#   DIR    a retort migrations directory, or with --from KIND another tool's
#          project in any layout `retort import` reads (sqlx, diesel, dbmate,
#          golang-migrate, pop, flyway, alembic); it is only read.
#
# For each revision i of the chain, database i is made from database i-1
# (CREATE DATABASE ... TEMPLATE, then `retort upgrade` to revision i). A step
# that changes the schema (`retort diff` of i-1 and i is not empty) is
# checked both ways and by both tools: the SQL from `retort diff --sql` (and
# from `migra --unsafe`) is applied with psql to a fresh copy of the source
# database, and `retort diff` of that copy against the target must be empty.
# Outcomes: exact, column order only (no ALTER can reorder columns), apply
# failed (psql stopped on an error), differs, no SQL (the generator refused
# or failed: see TAG.TOOL.sql.err). This fetches nothing itself.
#
# Environment:
#   DATABASE_URL      a server where databases can be created
#                     (default postgres://postgres@127.0.0.1:5432/postgres)
#   RETORT            the retort binary (default $CARGO_TARGET_DIR/debug/retort)
#   MIGRA             the migra binary (default: migra on PATH; left out when none)
#   FIDELITY_FROM     first revision number (1-based) checked; earlier ones
#                     are only applied (default 1)
#   FIDELITY_STEPS    stop after this many schema-changing steps (default all)
#   FIDELITY_OUT      directory for the per-step SQL and diffs
#                     (default a new directory under /tmp)
set -uo pipefail

kind=
if [ "${1:-}" = --from ]; then
    kind=$2
    shift 2
fi
src=${1:?usage: bench/fidelity.sh [--from KIND] DIR}

MIGRA=${MIGRA:-$(command -v migra || true)}
FROM=${FIDELITY_FROM:-1}
MAX_STEPS=${FIDELITY_STEPS:-0}
OUT=${FIDELITY_OUT:-$(mktemp -d /tmp/fidelity.XXXXXX)}
PREFIX=fid_$$
BENCH=fidelity
# shellcheck source=bench/fidelity-lib.sh
source "$(dirname "$0")/fidelity-lib.sh"
mkdir -p "$OUT"

if [ -n "$kind" ]; then
    migrations=$OUT/retort
    rm -rf "$migrations"
    "$RETORT" import --from "$kind" "$src" --into "$migrations" >"$OUT/import.txt" 2>&1 ||
        { cat "$OUT/import.txt" >&2; exit 3; }
else
    migrations=$src
fi

# The chain in order, base first: `history` prints "down -> rev, message", head first.
mapfile -t revisions < <("$RETORT" --migrations "$migrations" history 2>/dev/null |
    sed -n 's/^[^ ]* -> \([^ ,]*\).*/\1/p' | tac)
[ "${#revisions[@]}" -gt 0 ] || { log "no revisions in $migrations"; exit 3; }
log "${#revisions[@]} revisions from $src; work files in $OUT"

# check TOOL FROM_DB TO_DB TAG: generate FROM→TO with TOOL, apply it to a copy of
# FROM, compare with TO. Prints "outcome milliseconds".
check() {
    local tool=$1 from=$2 to=$3 tag=$4 copy=${PREFIX}_copy start ms
    local gen=$OUT/$tag.$tool.sql
    start=$(now_ms)
    local rc ok
    case $tool in
    retort)
        # Every rename it offers taken (those that pair one way), the rest
        # written as a drop and an add: what a person who says yes gets.
        "$RETORT" diff --from "$(db_url "$from")" --to "$(db_url "$to")" --sql \
            --accept-renames --allow-drop >"$gen" 2>"$gen.err"
        rc=$? ok='0 1' ;;
    migra)
        "$MIGRA" --unsafe "$(migra_url "$from")" "$(migra_url "$to")" >"$gen" 2>"$gen.err"
        rc=$? ok='0 2' ;;
    esac
    ms=$(($(now_ms) - start))
    # A generator that refuses (retort exit 2: kinds it does not model;
    # migra exit 1 or 3) wrote no SQL: applying its empty output would
    # count as "differs", which would blame SQL that was never written.
    case " $ok " in *" $rc "*) ;; *)
        echo "no-sql $ms"
        return ;;
    esac
    sql "DROP DATABASE IF EXISTS $copy"
    sql "CREATE DATABASE $copy TEMPLATE $from"
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

sql "CREATE DATABASE ${PREFIX}_0"
steps=0
stopped=
printf '%-4s %-24s %-14s %-14s %-14s %-14s\n' step revision retort-up retort-down migra-up migra-down
for i in "${!revisions[@]}"; do
    n=$((i + 1))
    prev=${PREFIX}_$i
    cur=${PREFIX}_$n
    rev=${revisions[$i]}
    sql "CREATE DATABASE $cur TEMPLATE $prev"
    if ! "$RETORT" --migrations "$migrations" --database-url "$(db_url "$cur")" upgrade "$rev" >"$OUT/$n.upgrade" 2>&1; then
        log "revision $rev does not apply: stopping (see $OUT/$n.upgrade)"
        # The summary names the last revision that applied, not this one.
        stopped="; revision $n ($rev) does not apply"
        n=$((n - 1))
        break
    fi
    if [ "$n" -ge "$FROM" ] && [ "$(diff_outcome "$prev" "$cur" "$OUT/$n.step")" != exact ]; then
        line=$(printf '%-4s %-24s' "$n" "$rev")
        for tool in "${tools[@]}"; do
            for dir in up down; do
                if [ $dir = up ]; then r=$(check "$tool" "$prev" "$cur" "$n.up"); else r=$(check "$tool" "$cur" "$prev" "$n.down"); fi
                outcome=${r% *}
                count[$tool.$dir.$outcome]=$((${count[$tool.$dir.$outcome]:-0} + 1))
                if [ "$tool" = retort ]; then times_retort+=("${r#* }"); else times_migra+=("${r#* }"); fi
                line+=$(printf ' %-14s' "$outcome")
            done
        done
        echo "$line"
        steps=$((steps + 1))
    fi
    sql "DROP DATABASE $prev"
    [ "$MAX_STEPS" -gt 0 ] && [ "$steps" -ge "$MAX_STEPS" ] && break
done

echo
echo "$steps schema-changing steps checked (revisions $FROM..$n of ${#revisions[@]})$stopped"
echo "| tool | exact up | exact down | column order only | apply failed | differs | no SQL | median ms per diff |"
echo "|---|---|---|---|---|---|---|---|"
for tool in "${tools[@]}"; do
    c() { echo $((${count[$tool.up.$1]:-0} + ${count[$tool.down.$1]:-0})); }
    if [ "$tool" = retort ]; then med=$(median "${times_retort[@]}"); else med=$(median "${times_migra[@]}"); fi
    echo "| $tool | ${count[$tool.up.exact]:-0}/$steps | ${count[$tool.down.exact]:-0}/$steps | $(c column-order) | $(c apply-failed) | $(c differs) | $(c no-sql) | $med |"
done
