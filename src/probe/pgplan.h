/*
 * pgplan — what the findings need from a PostgreSQL EXPLAIN (FORMAT JSON) document:
 * the sequential scans in the plan tree (relation, filter, estimated and actual rows),
 * and the column names a filter expression compares.
 *
 * The plan walker is a small JSON reader of its own because it must visit every object
 * of an arbitrarily shaped tree ("Plans" arrays nested in plan nodes) and the core
 * reader only follows paths.  It allocates nothing, does no I/O, never reads past
 * doc + len, and refuses nesting deeper than PGPLAN_MAX_DEPTH; on malformed input it
 * returns PGPLAN_EINVAL with whatever scans it had found before the damage discarded.
 * Any thread.
 */
#ifndef BRUNT_PROBE_PGPLAN_H
#define BRUNT_PROBE_PGPLAN_H

#include <stddef.h>

#define PGPLAN_MAX_DEPTH 64
#define PGPLAN_EINVAL (-1)
#define PGPLAN_EDEPTH (-2)

struct pgplan_scan {
    char relation[64];   /* "Relation Name" */
    char schema[64];     /* "Schema" (VERBOSE only; "" otherwise) */
    char filter[256];    /* "Filter", truncated; "" when the scan has none */
    double plan_rows;    /* "Plan Rows": rows the planner expects the scan to return */
    double actual_rows;  /* "Actual Rows" (ANALYZE), -1 when absent */
    double rows_removed; /* "Rows Removed by Filter" (ANALYZE), -1 when absent */
    double total_cost;   /* "Total Cost" of the scan node */
};

/*
 * Finds the "Seq Scan" nodes of an EXPLAIN (FORMAT JSON) document doc[0..len), in
 * document order, up to cap of them into out.  Returns how many there are (may exceed
 * cap: only cap are written), PGPLAN_EINVAL for a document that is not JSON, or
 * PGPLAN_EDEPTH when it nests deeper than PGPLAN_MAX_DEPTH.  *root_cost (when not NULL)
 * gets the first "Total Cost" of the document (the top node's), or -1.
 */
int pgplan_seq_scans(const char *doc, size_t len, struct pgplan_scan *out, size_t cap,
                     double *root_cost);

/*
 * The column names a filter compares, as PostgreSQL prints filters:
 * "((auction_id = 42) AND (status = 'open'::text))" gives auction_id, status.  A
 * column is an identifier (or "quoted identifier") directly before or after a
 * comparison operator (=, <>, !=, <, <=, >, >=, ~~, ~~*, !~~, IS, IN/ANY via = ANY),
 * not a literal, a cast's type, a function name or a keyword; a table-qualified name
 * keeps only the column.  Up to cap unique names (each at most 63 bytes) into cols.
 * Returns how many.
 */
size_t pgplan_filter_columns(const char *filter, char (*cols)[64], size_t cap);

#endif
