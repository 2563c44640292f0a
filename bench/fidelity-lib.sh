# What bench/fidelity.sh and bench/synthetic.sh share: scratch databases on
# one server, named with a prefix and dropped on exit, and the judge of an
# outcome. Sourced after the script sets BENCH (its name in messages) and
# PREFIX (the prefix of its databases).

URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
SERVER=${URL%/*}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RETORT=${RETORT:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/retort}
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

log() { echo "$BENCH: $*" >&2; }
sql() { psql -X -q -v ON_ERROR_STOP=1 -d "$URL" -c "$1" >/dev/null; }
db_url() { echo "$SERVER/$1"; }
migra_url() { local u; u=$(db_url "$1"); echo "postgresql+psycopg2://${u#*://}"; }
now_ms() { date +%s%3N; }
median() { [ $# -eq 0 ] && { echo -; return; }; printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Drops every database of this run, even with sessions left on it.
cleanup() {
    local db
    for db in $(psql -X -At -d "$URL" -c "SELECT datname FROM pg_database WHERE datname LIKE '${PREFIX}_%'"); do
        sql "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" || true
    done
}
trap cleanup EXIT

# diff_outcome FROM_DB TO_DB FILE: exact | column-order | differs, by
# `retort diff` (the judge), its output kept in FILE.
diff_outcome() {
    "$RETORT" diff --from "$(db_url "$1")" --to "$(db_url "$2")" >"$3" 2>&1
    case $? in
    0) echo exact ;;
    1) if grep -qv ': column order ' "$3"; then echo differs; else echo column-order; fi ;;
    *) echo differs ;;
    esac
}
