/*
 * test_trust: em_trust, the internal credential: created once per data directory (mode
 * 600, the same for every process that opens it, even when many start at once), sent as
 * one header line, and verified exactly (wrong, truncated, NULL or not yet loaded: no).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_crypto.h"
#include "em_log.h"
#include "em_service.h"
#include "em_trust.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct fixture {
    char dir[PATH_MAX];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct em_status st = {0};
    if (!f || em_make_temp_dir(f->dir, sizeof(f->dir), &st))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    em_remove_tree(f->dir);
    free(f);
    return 0;
}

/* The credential value of the header line now loaded. */
static void current_value(char out[80])
{
    const char *line = em_trust_header_line();
    assert_non_null(line);
    assert_memory_equal(line, EM_TRUST_HEADER ": ", strlen(EM_TRUST_HEADER) + 2);
    snprintf(out, 80, "%s", line + strlen(EM_TRUST_HEADER) + 2);
}

static void test_created_once_private_and_verified_exactly(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    assert_false(em_trust_verify(NULL));
    assert_int_equal(em_trust_open(f->dir, &st), EM_OK);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/%s", f->dir, EM_TRUST_FILE_NAME);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    char value[80], again[80];
    current_value(value);
    assert_int_equal(strlen(value), 64);
    assert_true(em_trust_verify(value));
    /* a second process of the stack reads the same one */
    assert_int_equal(em_trust_open(f->dir, &st), EM_OK);
    current_value(again);
    assert_string_equal(value, again);
    /* anything else is refused */
    assert_false(em_trust_verify(NULL));
    assert_false(em_trust_verify(""));
    value[63] = value[63] == 'a' ? 'b' : 'a';
    assert_false(em_trust_verify(value));
    again[63] = '\0';
    assert_false(em_trust_verify(again));
}

static void test_another_stack_has_another_credential(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    char other_dir[PATH_MAX], first[80], second[80];
    assert_int_equal(em_trust_open(f->dir, &st), EM_OK);
    current_value(first);
    assert_int_equal(em_make_temp_dir(other_dir, sizeof(other_dir), &st), EM_OK);
    assert_int_equal(em_trust_open(other_dir, &st), EM_OK);
    current_value(second);
    assert_string_not_equal(first, second);
    assert_false(em_trust_verify(first));
    em_remove_tree(other_dir);
}

struct racer {
    const char *path;
    unsigned char key[EM_AES_KEY_BYTES];
    enum em_code code;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    struct em_status st = {0};
    r->code = em_key_file(r->path, r->key, &st);
    return NULL;
}

static void test_processes_starting_together_agree(void **state)
{
    struct fixture *f = *state;
    enum { RACERS = 8 };
    for (int round = 0; round < 20; round++) {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof(path), "%s/race-%d.key", f->dir, round);
        struct racer racers[RACERS];
        pthread_t threads[RACERS];
        for (int i = 0; i < RACERS; i++) {
            racers[i] = (struct racer){.path = path};
            assert_int_equal(pthread_create(&threads[i], NULL, race, &racers[i]), 0);
        }
        for (int i = 0; i < RACERS; i++)
            pthread_join(threads[i], NULL);
        for (int i = 0; i < RACERS; i++) {
            assert_int_equal(racers[i].code, EM_OK);
            assert_memory_equal(racers[i].key, racers[0].key, EM_AES_KEY_BYTES);
        }
    }
}

int main(void)
{
    em_log_init("test", EM_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_created_once_private_and_verified_exactly, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_another_stack_has_another_credential, setup, teardown),
        cmocka_unit_test_setup_teardown(test_processes_starting_together_agree, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
