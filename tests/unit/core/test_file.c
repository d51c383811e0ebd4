/*
 * Unit tests for core/file: an atomic write creates or replaces the file with exactly
 * the parts given, leaves no temporary file behind, and on failure leaves the old file
 * as it was and says which step failed.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/brunt-test-file.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(file, .init = setup, .fini = teardown);

static size_t read_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "open %s: %s", path, strerror(errno));
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static int entries(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return n;
}

Test(file, writes_the_parts_and_replaces_the_old_file)
{
    char path[128], buf[64], err[256];
    snprintf(path, sizeof path, "%s/out.json", dir);
    struct file_part parts[] = {{"{\"a\":", 5}, {"1}", 2}, {"\n", 1}};
    cr_assert_eq(file_write_atomic(path, parts, 3, 0644, err, sizeof err), 0, "%s", err);
    size_t n = read_file(path, buf, sizeof buf);
    cr_expect_eq(n, 8);
    cr_expect(memcmp(buf, "{\"a\":1}\n", 8) == 0);
    struct file_part again[] = {{"new", 3}};
    cr_assert_eq(file_write_atomic(path, again, 1, 0600, err, sizeof err), 0, "%s", err);
    n = read_file(path, buf, sizeof buf);
    cr_expect_eq(n, 3);
    cr_expect(memcmp(buf, "new", 3) == 0);
    cr_expect_eq(entries(), 1, "no temporary file left");
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_expect_eq(st.st_mode & 0777 & ~0600, 0, "mode %o", st.st_mode & 0777);
}

Test(file, a_failure_names_its_step_and_leaves_nothing)
{
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/missing/out.json", dir);
    struct file_part p[] = {{"x", 1}};
    int rc = file_write_atomic(path, p, 1, 0644, err, sizeof err);
    cr_expect_eq(rc, -ENOENT, "rc %d", rc);
    cr_expect(strncmp(err, "cannot create ", 14) == 0, "err: %s", err);
    cr_expect(strstr(err, strerror(ENOENT)) != NULL, "err: %s", err);
    /* A directory in the way of the rename: the temp file is removed. */
    snprintf(path, sizeof path, "%s/adir", dir);
    cr_assert_eq(mkdir(path, 0755), 0);
    char inner[160];
    snprintf(inner, sizeof inner, "%s/keep", path);
    FILE *f = fopen(inner, "w");
    cr_assert_not_null(f);
    fclose(f);
    rc = file_write_atomic(path, p, 1, 0644, err, sizeof err);
    cr_expect_lt(rc, 0, "renaming over a non-empty directory fails");
    cr_expect(strncmp(err, "rename from ", 12) == 0, "err: %s", err);
    cr_expect_eq(entries(), 1, "only the directory is left");
    cr_expect_eq(file_write_atomic("", p, 1, 0644, err, sizeof err), -EINVAL);
}

/* A temporary name in $TMPDIR, /tmp when it is unset or empty, and a refusal (not a cut
 * name) when it does not fit. */
Test(file, temp_path_in_tmpdir_else_tmp)
{
    char out[64];
    cr_assert_eq(setenv("TMPDIR", "/var/x y", 1), 0);
    cr_assert_eq(file_temp_path(out, sizeof out, "a.XXXXXX"), 0);
    cr_expect_str_eq(out, "/var/x y/a.XXXXXX");
    cr_assert_eq(setenv("TMPDIR", "", 1), 0);
    cr_assert_eq(file_temp_path(out, sizeof out, "a.XXXXXX"), 0);
    cr_expect_str_eq(out, "/tmp/a.XXXXXX");
    cr_assert_eq(unsetenv("TMPDIR"), 0);
    cr_assert_eq(file_temp_path(out, sizeof out, "a.XXXXXX"), 0);
    cr_expect_str_eq(out, "/tmp/a.XXXXXX");
    char longdir[80];
    memset(longdir, 'd', sizeof longdir - 1);
    longdir[0] = '/';
    longdir[sizeof longdir - 1] = '\0';
    cr_assert_eq(setenv("TMPDIR", longdir, 1), 0);
    cr_expect_eq(file_temp_path(out, sizeof out, "a.XXXXXX"), -ENAMETOOLONG);
    cr_expect_str_eq(out, "");
}
