/* cli/history — placeholder until the history is built. */
#include <stdio.h>

#include "cli/cli.h"

int cli_history(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "brunt history: not built yet\n");
    return EXIT_USAGE;
}

int cli_history_baseline(const char *db_path, const char *which, const struct result_doc *cur,
                         struct result_doc **out, char *label, size_t label_len, char *err,
                         size_t err_len)
{
    (void)db_path, (void)which, (void)cur, (void)out, (void)label, (void)label_len;
    snprintf(err, err_len, "--history: not built yet");
    return EXIT_USAGE;
}
