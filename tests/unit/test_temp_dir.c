/*
 * test_temp_dir: em_make_temp_dir, where --ephemeral keeps a stack's data: under $TMPDIR
 * when it is set; else in /dev/shm when that is a memory file system with 1 GiB free and
 * writable (the data goes at stop anyway, and Google's emulators keep theirs in memory);
 * else /tmp. Each directory is new, private (mode 700) and unique.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_log.h"
#include "em_service.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define TMPFS 0x01021994

static char saved_tmpdir[PATH_MAX];
static bool had_tmpdir;

static int save_tmpdir(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    had_tmpdir = t != NULL;
    snprintf(saved_tmpdir, sizeof(saved_tmpdir), "%s", t ? t : "");
    return 0;
}

static int restore_tmpdir(void **state)
{
    (void)state;
    if (had_tmpdir)
        setenv("TMPDIR", saved_tmpdir, 1);
    else
        unsetenv("TMPDIR");
    return 0;
}

/* Makes a directory, checks it is new and private, and removes it; its path into out. */
static void make_checked(char *out, size_t len)
{
    struct em_status st = {0};
    assert_int_equal(em_make_temp_dir(out, len, &st), EM_OK);
    struct stat sb;
    assert_int_equal(stat(out, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(sb.st_mode & 0777, 0700);
    assert_int_equal(sb.st_uid, getuid());
    char again[PATH_MAX];
    assert_int_equal(em_make_temp_dir(again, sizeof(again), &st), EM_OK);
    assert_string_not_equal(out, again);
    em_remove_tree(again);
    em_remove_tree(out);
    assert_int_not_equal(access(out, F_OK), 0);
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void test_tmpdir_chooses(void **state)
{
    (void)state;
    char root[PATH_MAX], dir[PATH_MAX];
    snprintf(root, sizeof(root), "/tmp/test_temp_dir.XXXXXX");
    assert_non_null(mkdtemp(root));
    setenv("TMPDIR", root, 1);
    make_checked(dir, sizeof(dir));
    char prefix[PATH_MAX + 32];
    snprintf(prefix, sizeof(prefix), "%s/cmek-emulator.", root);
    assert_true(starts_with(dir, prefix));
    rmdir(root);
}

/* The oracle, from the file system itself: what em_make_temp_dir should choose. */
static const char *expected_root(void)
{
    struct statfs fs;
    bool memory =
        statfs("/dev/shm", &fs) == 0 && fs.f_type == TMPFS &&
        (unsigned long long)fs.f_bavail * (unsigned long long)fs.f_bsize >= (1ull << 30) &&
        access("/dev/shm", W_OK | X_OK) == 0;
    return memory ? "/dev/shm/cmek-emulator." : "/tmp/cmek-emulator.";
}

static void test_memory_when_there_is_room(void **state)
{
    (void)state;
    unsetenv("TMPDIR");
    char dir[PATH_MAX];
    make_checked(dir, sizeof(dir));
    print_message("temporary directories go to %s...\n", expected_root());
    assert_true(starts_with(dir, expected_root()));
}

static void test_empty_tmpdir_is_unset(void **state)
{
    (void)state;
    setenv("TMPDIR", "", 1);
    char dir[PATH_MAX];
    make_checked(dir, sizeof(dir));
    assert_true(starts_with(dir, expected_root()));
}

int main(void)
{
    em_log_init("test", EM_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tmpdir_chooses, save_tmpdir, restore_tmpdir),
        cmocka_unit_test_setup_teardown(test_memory_when_there_is_room, save_tmpdir,
                                        restore_tmpdir),
        cmocka_unit_test_setup_teardown(test_empty_tmpdir_is_unset, save_tmpdir, restore_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
