/*
 * file — atomic file writing (see file.h).
 */
#include "core/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* fsyncs the directory holding path so the rename itself is durable; best effort. */
static void sync_parent_dir(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        snprintf(dir, sizeof dir, ".");
    } else if (slash == path) {
        snprintf(dir, sizeof dir, "/");
    } else {
        int n = snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
        if (n < 0 || (size_t)n >= sizeof dir) {
            return;
        }
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

int file_write_atomic(const char *path, const struct file_part *parts, size_t n_parts, mode_t mode,
                      char *err, size_t err_len)
{
    char tmp[PATH_MAX];
    int fd = -1;
    bool created = false;
    int rc = 0;
    if (err_len > 0) {
        err[0] = '\0';
    }
    if (path == NULL || *path == '\0') {
        snprintf(err, err_len, "empty path");
        rc = -EINVAL;
        goto fail;
    }
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp) {
        snprintf(err, err_len, "path too long");
        rc = -ENAMETOOLONG;
        goto fail;
    }
    /* A temp file of this name can only be a leftover of an earlier process with the
     * same pid (PID 1 in a container, say) that died mid-write: it is ours to replace. */
    (void)unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        rc = -errno;
        snprintf(err, err_len, "cannot create %s: %s", tmp, strerror(-rc));
        goto fail;
    }
    created = true;
    for (size_t i = 0; i < n_parts && rc == 0; i++) {
        rc = write_all(fd, parts[i].data, parts[i].len);
    }
    if (rc < 0) {
        snprintf(err, err_len, "writing %s: %s", tmp, strerror(-rc));
        goto fail;
    }
    if (fsync(fd) < 0) {
        rc = -errno;
        snprintf(err, err_len, "fsync %s: %s", tmp, strerror(-rc));
        goto fail;
    }
    int cfd = fd;
    fd = -1;
    if (close(cfd) < 0) {
        rc = -errno;
        snprintf(err, err_len, "closing %s: %s", tmp, strerror(-rc));
        goto fail;
    }
    if (rename(tmp, path) < 0) {
        rc = -errno;
        snprintf(err, err_len, "rename from %s: %s", tmp, strerror(-rc));
        goto fail;
    }
    sync_parent_dir(path);
    return 0;

fail:
    if (fd >= 0) {
        close(fd);
    }
    if (created) {
        unlink(tmp);
    }
    return rc;
}

int file_temp_path(char *out, size_t cap, const char *name)
{
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || *dir == '\0') {
        dir = "/tmp";
    }
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap) {
        if (cap > 0) {
            out[0] = '\0';
        }
        return -ENAMETOOLONG;
    }
    return 0;
}
