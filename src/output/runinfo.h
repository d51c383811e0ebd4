/*
 * runinfo — what the CLI knows of a run beyond the engine's report, for the summary and
 * the result: the scenario file's `name:`, its path and digest, the values given with
 * -e, and the run-wide tags given with --tag.  A plain struct the caller fills and owns;
 * every field may be empty (quick mode has no file).
 */
#ifndef BRUNT_OUTPUT_RUNINFO_H
#define BRUNT_OUTPUT_RUNINFO_H

#include <stddef.h>

struct run_info {
    const char *test_name;     /* the file's top-level name:, or NULL */
    const char *scenario_path; /* the scenario file as given ("-" for stdin), or NULL */
    char scenario_sha256[65];  /* hex SHA-256 of the file's bytes, "" when none */
    const char *const *env;    /* "KEY=VALUE" given with -e, n_env of them */
    size_t n_env;
    const char *const *tags; /* "KEY=VALUE" given with --tag, n_tags of them */
    size_t n_tags;
};

#endif
