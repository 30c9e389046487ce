#!/usr/bin/env bash
# Start Debian's PostgreSQL on 127.0.0.1:5432 and create the database the production-profile
# test uses (user/password/db "dagster"). Idempotent; needs root and the `postgresql` package.
set -euo pipefail
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | grep -q "^${version} main"; then
  pg_createcluster "$version" main
fi
sed -i "s/^#\?listen_addresses.*/listen_addresses = '127.0.0.1'/" "/etc/postgresql/${version}/main/postgresql.conf"
pg_ctlcluster "$version" main start 2>/dev/null || pg_ctlcluster "$version" main status >/dev/null
for _ in $(seq 1 30); do
  su postgres -c "psql -qtAc 'select 1'" >/dev/null 2>&1 && break
  sleep 1
done
su postgres -c "psql -qtAc \"select 1 from pg_roles where rolname = 'dagster'\"" | grep -q 1 \
  || su postgres -c "psql -qc \"create user dagster with password 'dagster'\""
su postgres -c "psql -qtAc \"select 1 from pg_database where datname = 'dagster'\"" | grep -q 1 \
  || su postgres -c "createdb -O dagster dagster"
echo "PostgreSQL ${version} on 127.0.0.1:5432, database dagster"
