/*
 * unit_bigtable: the fixture of the Bigtable admin-domain tests: a temporary data
 * directory with IAM's tables (as the service runtime opens them: deleting an instance
 * deletes its policies) and a bt_admin over its store.
 */
#ifndef UNIT_BIGTABLE_H
#define UNIT_BIGTABLE_H

#include "bigtable/bigtable_admin.h"
#include "em_iam.h"
#include "unit_util.h"

struct fixture {
    struct unit_dir dir;
    struct bt_admin *admin;
};

static int setup(void **state)
{
    static struct fixture f;
    struct em_status st = {0};
    if (unit_dir_open(&f.dir) || em_iam_open(f.dir.store, &st) ||
        bt_admin_open(f.dir.store, NULL, f.dir.path, &f.admin, &st))
        return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    bt_admin_close(f->admin);
    unit_dir_close(&f->dir);
    return 0;
}

#endif
