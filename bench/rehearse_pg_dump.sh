#!/usr/bin/env bash
# The pg_dump-per-step way to rehearse a chain of revision files, for the
# side-by-side with `retort rehearse --all` in run.sh: for each revision in
# chain order on database URL, run its upgrade, dump the schema, run its
# downgrade, dump and compare with the dump before the upgrade, upgrade
# again, dump and compare with the first upgrade's dump. Prints how many
# steps restored the schema.
#
# Usage: bench/rehearse_pg_dump.sh URL DIR   (DIR: retort files, a chain)
set -euo pipefail
url=$1 dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

section() { # section FILE upgrade|downgrade
    awk -v want="-- migrate:$2" '/^-- migrate:/ {on = ($0 == want); next} on' "$1"
}
run_sql() { psql -X -q -v ON_ERROR_STOP=1 -d "$url" -f - >/dev/null; }
# Comments and pg_dump's per-run \restrict keys differ between runs.
dump() { pg_dump --schema-only "$url" | grep -v -e '^--' -e '^\\restrict' -e '^\\unrestrict' >"$1"; }

# Chain order: follow down_revision from the revision nobody names.
declare -A file_of next_of
for f in "$dir"/*.sql; do
    id=$(awk -F': ' '/^-- revision:/ {print $2; exit}' "$f")
    down=$(awk -F': *' '/^-- down_revision:/ {print $2; exit}' "$f")
    file_of[$id]=$f
    next_of[${down:-base}]=$id
done
dump "$work/before"
restored=0 steps=0
id=${next_of[base]:-}
while [ -n "$id" ]; do
    f=${file_of[$id]}
    section "$f" upgrade | run_sql
    dump "$work/after"
    section "$f" downgrade | run_sql
    dump "$work/down"
    section "$f" upgrade | run_sql
    dump "$work/again"
    if cmp -s "$work/before" "$work/down" && cmp -s "$work/after" "$work/again"; then
        restored=$((restored + 1))
    fi
    steps=$((steps + 1))
    mv "$work/again" "$work/before"
    id=${next_of[$id]:-}
done
echo "$restored of $steps steps restored the schema"
