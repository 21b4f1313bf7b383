#!/usr/bin/env bash
# The "serial COPY floor" that `mxauth syn2mas` is compared with: the time
# PostgreSQL itself needs to COPY Synapse's auth tables out of the source
# database and into an empty database of the same schema (indexes and
# constraints in place, as pg_dump --schema-only makes them), one table
# after the other, each COPY piped straight into the next.
#   bench/syn2mas/copy_floor.sh SOURCE_URI
# e.g. postgresql://postgres@127.0.0.1:5432/syn2mas_bench_source. Prints the
# time per table and the total; the copy database is dropped at the end.
set -euo pipefail
export PGOPTIONS="--client-min-messages=warning"
SOURCE=${1:?usage: copy_floor.sh SOURCE_URI}
SERVER=${SOURCE%/*}
COPY_DB=syn2mas_copy_floor
# Parents first, as the foreign keys want them.
TABLES=(users user_threepids user_external_ids devices refresh_tokens access_tokens)

psql "$SERVER/postgres" -qAt -c "DROP DATABASE IF EXISTS $COPY_DB" -c "CREATE DATABASE $COPY_DB" >/dev/null
pg_dump --schema-only --no-owner $(printf -- '-t %s ' "${TABLES[@]}") "$SOURCE" \
  | psql -q "$SERVER/$COPY_DB" >/dev/null

now() { date +%s.%N; }
total=0
for table in "${TABLES[@]}"; do
  t0=$(now)
  psql -qAt "$SOURCE" -c "COPY $table TO STDOUT" \
    | psql -qAt "$SERVER/$COPY_DB" -c "COPY $table FROM STDIN"
  took=$(echo "$(now) - $t0" | bc)
  total=$(echo "$total + $took" | bc)
  rows=$(psql -qAt "$SERVER/$COPY_DB" -c "SELECT COUNT(*) FROM $table")
  printf 'copy %-18s %7d rows %5.2f s\n' "$table" "$rows" "$took"
done
printf 'copy total %.2f s\n' "$total"
psql "$SERVER/postgres" -qAt -c "DROP DATABASE $COPY_DB" >/dev/null
