/*
 * bigtable_subset: an authorized view's subsetView (google.bigtable.admin.v2.AuthorizedView
 * .SubsetView), parsed, and the questions the data plane asks it.
 *
 * A cell is in the subset when its row key starts with one of rowPrefixes and its family
 * is a key of familySubsets whose qualifiers hold its qualifier exactly or whose
 * qualifierPrefixes hold a prefix of it ("" : every qualifier of the family). Reads
 * through a view see only those cells; a write through it must touch only them (a
 * deleteFromFamily needs the whole family, a deleteFromRow every family of the table),
 * else PERMISSION_DENIED, as Google refuses a request that references data outside the
 * view. Reference: https://cloud.google.com/bigtable/docs/authorized-views
 *
 * Pure functions on memory; a parsed subset owns its bytes.
 */
#ifndef BIGTABLE_SUBSET_H
#define BIGTABLE_SUBSET_H

#include "bigtable_cell.h"
#include "bigtable_mutation.h"
#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

#define BT_SUBSET_MAX_PARAMS 100 /* row prefixes + qualifiers + qualifier prefixes */

struct bt_subset_family {
    char *name;
    struct bt_bytes *qualifiers; /* owned */
    size_t n_qualifiers;
    struct bt_bytes *prefixes; /* owned */
    size_t n_prefixes;
};

struct bt_subset {
    struct bt_bytes *row_prefixes; /* owned */
    size_t n_row_prefixes;
    struct bt_subset_family *families;
    size_t n_families;
};

/* subset_view: the SubsetView JSON (bytes in base64). INVALID_ARGUMENT for bad base64,
 * a family without a subset object, or more than BT_SUBSET_MAX_PARAMS parameters. */
enum em_code bt_subset_parse(const cJSON *subset_view, struct bt_subset *out, struct em_status *st);
void bt_subset_free(struct bt_subset *s);

bool bt_subset_has_row(const struct bt_subset *s, struct bt_bytes key);
bool bt_subset_has_cell(const struct bt_subset *s, struct bt_bytes family,
                        struct bt_bytes qualifier);
/* Every qualifier of family is in the subset (a qualifier prefix ""). */
bool bt_subset_has_family(const struct bt_subset *s, const char *family);

/* Keeps in cells (in place, order kept) those in the subset; returns how many. The row's
 * key is not looked at (bt_subset_has_row). */
size_t bt_subset_keep_cells(const struct bt_subset *s, struct bt_cell *cells, size_t n);

/* The mutations of the row key, through the view: PERMISSION_DENIED naming the view
 * when one touches a cell outside it. table_families: the table's columnFamilies object
 * (a deleteFromRow must cover them all). */
enum em_code bt_subset_check_mutations(const struct bt_subset *s, const char *view,
                                       struct bt_bytes key, const struct bt_mutations *m,
                                       const cJSON *table_families, struct em_status *st);
/* The same for readModifyWriteRow's rules (each one cell). */
enum em_code bt_subset_check_rules(const struct bt_subset *s, const char *view, struct bt_bytes key,
                                   const struct bt_rmw_rules *rules, struct em_status *st);

#endif
