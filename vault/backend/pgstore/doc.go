// Package pgstore is a [backend.Meta] in PostgreSQL, for a drop run by
// several front-ends: one table of (key bytea primary key, value bytea),
// SERIALIZABLE transactions retried when PostgreSQL reports a
// serialization failure (40001) or a deadlock (40P01), and schema
// migrations (a version table, under an advisory lock so that front-ends
// starting together migrate once) run by [Open].
//
// The connection string is pgx's: a URL or key=value pairs, with several
// hosts ("host=db1,db2" or "postgres://db1:5432,db2:5432/drop") and
// target_session_attrs=read-write, so that after a failover the promoted
// standby is found.
//
// The store holds what the vault gives it: opaque keys and values the
// vault has sealed. It adds no timestamp column. What PostgreSQL itself
// keeps, whatever the schema:
//   - every row's system columns: xmin and xmax (the ids of the
//     transactions that wrote and deleted it; ids grow, so they order
//     writes) and ctid (the row's place in the table file, which also
//     tends to follow insertion order); no time;
//   - commit timestamps per transaction only with track_commit_timestamp
//     = on (off by default: keep it off);
//   - the write-ahead log, whose commit records carry the commit time to
//     the microsecond, kept until a checkpoint recycles it, and for ever
//     in a WAL archive or a replica's stream;
//   - the server log, which by default records no statement or
//     connection (keep log_statement = none, log_connections = off,
//     log_min_duration_statement = -1), and statistics views
//     (pg_stat_user_tables: counts and the time of the last autovacuum).
//
// docs/threat-model.md says how a deployment configures these.
package pgstore
