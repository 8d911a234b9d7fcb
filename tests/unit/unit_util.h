/*
 * unit_util: helpers shared by the cmocka unit tests: temporary directories and an
 * opened metadata store in one.
 */
#ifndef UNIT_UTIL_H
#define UNIT_UTIL_H

#include "em_service.h"
#include "em_store.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct unit_dir {
    char path[PATH_MAX];
    struct em_store *store;
};

/* A fresh temporary directory with metadata.db opened in it. */
static inline int unit_dir_open(struct unit_dir *d)
{
    struct em_status st = {0};
    if (em_make_temp_dir(d->path, sizeof(d->path), &st))
        return -1;
    char db[PATH_MAX + 16];
    snprintf(db, sizeof(db), "%s/metadata.db", d->path);
    return em_store_open(db, &d->store, &st) == EM_OK ? 0 : -1;
}

static inline void unit_dir_close(struct unit_dir *d)
{
    em_store_close(d->store);
    d->store = NULL;
    em_remove_tree(d->path);
}

/* A step error in the middle of a load, as a busy, failing or corrupt database gives:
 * once a statement whose SQL contains sql_part has returned `rows` rows on this thread's
 * connection of a store, its next step fails with SQLITE_INTERRUPT (SQLite checks the
 * interrupt when it moves to the next row, so at least rows + 1 rows must exist). */
struct unit_step_fault {
    const char *sql_part;
    int rows, seen;
};

static inline int unit_step_fault_trace(unsigned type, void *ctx, void *p, void *x)
{
    struct unit_step_fault *f = ctx;
    (void)x;
    if (type == SQLITE_TRACE_ROW && strstr(sqlite3_sql(p), f->sql_part) && ++f->seen == f->rows)
        sqlite3_interrupt(sqlite3_db_handle(p));
    return 0;
}

static inline void unit_step_fault_arm(struct em_store *store, struct unit_step_fault *f)
{
    sqlite3_trace_v2(em_store_db(store, NULL), SQLITE_TRACE_ROW, unit_step_fault_trace, f);
}

static inline void unit_step_fault_disarm(struct em_store *store)
{
    sqlite3_trace_v2(em_store_db(store, NULL), 0, NULL, NULL);
}

/* Whether needle appears in the file at path (false when the file does not exist): the
 * tests' check that no plaintext reaches a disk. */
static inline bool unit_file_contains(const char *path, const char *needle)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return false;
    size_t n = strlen(needle), cap = 1 << 20, len = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + len, 1, cap - len, fp)) > 0) {
        len += got;
        if (len == cap) {
            char *grown = realloc(buf, cap * 2);
            if (!grown)
                abort();
            buf = grown;
            cap *= 2;
        }
    }
    fclose(fp);
    if (!buf)
        abort();
    bool found = false;
    for (size_t i = 0; !found && len >= n && i <= len - n; i++)
        found = memcmp(buf + i, needle, n) == 0;
    free(buf);
    return found;
}

/* Whether text appears in the metadata.db of dir or in its WAL. */
static inline bool unit_store_files_hold(const char *dir, const char *text)
{
    static const char *const suffixes[] = {"/metadata.db", "/metadata.db-wal"};
    for (int i = 0; i < 2; i++) {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof(path), "%s%s", dir, suffixes[i]);
        if (unit_file_contains(path, text))
            return true;
    }
    return false;
}

#endif
