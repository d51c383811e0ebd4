/*
 * file — writing a file so that readers see the old version or the whole new one, never
 * a part: results now, reports next.
 *
 * The bytes go to a temporary file beside the target (PATH.tmp.PID, so the rename stays
 * on one file system), which is written completely, fsync'ed and closed, then renamed
 * over PATH; then the directory is fsync'ed so the rename itself survives a crash.  A
 * failure removes the temporary file and leaves PATH as it was.
 */
#ifndef BRUNT_CORE_FILE_H
#define BRUNT_CORE_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* One piece of the file's content. */
struct file_part {
    const void *data;
    size_t len;
};

/*
 * Writes parts[0..n_parts) one after the other into path atomically (see above), with
 * permissions mode (before the umask).  Returns 0, or a negative errno with
 * err[0..err_len) saying which step failed, as "cannot create P.tmp.N: <strerror>",
 * "writing P.tmp.N: ...", "fsync P.tmp.N: ...", "closing P.tmp.N: ...", "rename from
 * P.tmp.N: ...", "path too long" or "empty path".  Blocks; any thread.
 */
int file_write_atomic(const char *path, const struct file_part *parts, size_t n_parts, mode_t mode,
                      char *err, size_t err_len);

/*
 * Writes "DIR/name" into out[0..cap), DIR being $TMPDIR (or /tmp when it is unset or
 * empty): the place for a temporary file or directory, name usually a mkstemp template.
 * Returns 0, or -ENAMETOOLONG (out then holds "") when it does not fit in cap bytes; a
 * cap of PATH_MAX fits every usable TMPDIR.  Reads the environment: main thread only
 * while another thread may call setenv.
 */
int file_temp_path(char *out, size_t cap, const char *name);

#endif
