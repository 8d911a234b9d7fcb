/*
 * unit_util: helpers shared by the cmocka unit tests: temporary directories and an
 * opened metadata store in one.
 */
#ifndef UNIT_UTIL_H
#define UNIT_UTIL_H

#include "em_service.h"
#include "em_store.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

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

#endif
