/*
 * bigtable_consistency: consistency tokens (GenerateConsistencyToken, CheckConsistency):
 * whether the writes made to a table before a token was generated have reached every
 * cluster's replica.
 *
 * A write a replica S served either reached every other replica at once, or waits in S's
 * replication log (bigtable_replication.h) until it is applied, then leaves it. Log
 * entries are numbered in order and never reuse a number, so a token records, per
 * replica of the table, the highest number in its log when it was made (-1 when that
 * log could not be read: then all of it counts). The token is consistent once no replica
 * still holds an entry at or below its recorded number: every write made before it has
 * been applied everywhere. A replica gone since (its cluster deleted) holds nothing; one
 * whose log cannot be read now (its key refused) is not consistent.
 *
 * The token (opaque to clients, as Google's) is base64url, without padding, of
 *     "bt1\n<table name>\n<cluster id>=<number>\n..." (at most BT_MAX_CLUSTERS lines)
 * and belongs to its table: any other text, or a token of another table, is
 * INVALID_ARGUMENT. CheckConsistency's dataBoostReadLocalWrites mode asks only about the
 * writes' own cluster, where the emulator applies a write before answering it: always
 * consistent. standardReadRemoteWrites (or no mode) is the check above.
 * Reference: https://cloud.google.com/bigtable/docs/reference/admin/rest/v2/
 * projects.instances.tables/checkConsistency
 */
#ifndef BIGTABLE_CONSISTENCY_H
#define BIGTABLE_CONSISTENCY_H

#include "bigtable_admin.h"
#include "bigtable_data.h"
#include "em_status.h"

#include <stdbool.h>
#include <stdint.h>

#define BT_TOKEN_CLUSTER_ID_MAX 64

struct bt_consistency_token {
    char table[BT_NAME_MAX];
    int count;
    char clusters[BT_MAX_CLUSTERS][BT_TOKEN_CLUSTER_ID_MAX]; /* cluster ids */
    int64_t seqs[BT_MAX_CLUSTERS]; /* the last log entry then; -1: the whole log */
};

/* The token's text (malloc'd), NULL when out of memory. */
char *bt_consistency_token_format(const struct bt_consistency_token *token);
/* text parsed into *out; INVALID_ARGUMENT unless it is a token of table. */
enum em_code bt_consistency_token_parse(const char *text, const char *table,
                                        struct bt_consistency_token *out, struct em_status *st);

/* A token of the writes made to table so far (*token malloc'd). NOT_FOUND for an unknown
 * table. */
enum em_code bt_consistency_generate(struct bt_context *bt, const char *table, char **token,
                                     struct em_status *st);
/* request: the CheckConsistencyRequest (consistencyToken, and the mode). */
enum em_code bt_consistency_check(struct bt_context *bt, const char *table, const cJSON *request,
                                  bool *consistent, struct em_status *st);

#endif
