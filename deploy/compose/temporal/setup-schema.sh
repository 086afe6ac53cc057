#!/bin/sh
# The official schema setup of a Temporal server on PostgreSQL, as Temporal's own
# Compose examples run it with the admin-tools image: create the two databases, set up
# the version tables, then apply every versioned schema step. Each command is a no-op
# when already done, so this runs again safely on every `docker compose up`.
set -eu
: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
port=${DB_PORT:-5432}
schema=/etc/temporal/schema/postgresql/v12

sql() {
	temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$port" -u "$POSTGRES_USER" "$@"
}

for attempt in $(seq 1 30); do
	nc -z -w 5 "$POSTGRES_SEEDS" "$port" && break
	echo "waiting for PostgreSQL at $POSTGRES_SEEDS:$port ($attempt/30)"
	sleep 2
done

sql --db temporal create
sql --db temporal setup-schema -v 0.0
sql --db temporal update-schema -d "$schema/temporal/versioned"

sql --db temporal_visibility create
sql --db temporal_visibility setup-schema -v 0.0
sql --db temporal_visibility update-schema -d "$schema/visibility/versioned"

echo "Temporal schema is up to date"
