#!/usr/bin/env bash
# First start of the postgres container only: the warehouse (and the demo CRM)
# live in their own databases, owned by the role `review`, apart from
# Airflow's metadata database. The password arrives as a psql variable, so it
# is quoted by psql and never spliced into SQL text.
set -euo pipefail

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v review_password="$REVIEW_DB_PASSWORD" <<'SQL'
create role review login password :'review_password';
create database review_warehouse owner review;
create database review_crm owner review;
revoke all on database review_warehouse from public;
revoke all on database review_crm from public;
SQL
