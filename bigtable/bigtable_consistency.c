/*
 * bigtable_consistency: consistency tokens over the replicas' replication logs (see
 * bigtable_consistency.h): the token's text, and what generate and check read.
 */
#include "bigtable_consistency.h"

#include "bigtable_cells.h"
#include "bigtable_replicas.h"
#include "em_json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_MAGIC "bt1\n"
#define TOKEN_MAX   (BT_NAME_MAX + BT_MAX_CLUSTERS * (BT_TOKEN_CLUSTER_ID_MAX + 24) + 16)

/* --- the token's text --- */

char *bt_consistency_token_format(const struct bt_consistency_token *token)
{
    char text[TOKEN_MAX];
    size_t n = (size_t)snprintf(text, sizeof(text), TOKEN_MAGIC "%s\n", token->table);
    for (int i = 0; i < token->count && n < sizeof(text); i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%s=%" PRId64 "\n", token->clusters[i],
                              token->seqs[i]);
    if (n >= sizeof(text))
        return NULL;
    char *out = em_b64_encode((const unsigned char *)text, n);
    if (!out)
        return NULL;
    /* base64url without padding, as opaque as Google's tokens */
    for (char *c = out; *c; c++)
        *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
    char *pad = strchr(out, '=');
    if (pad)
        *pad = '\0';
    return out;
}

/* One "<cluster id>=<number>" line (line[0, len)) into the token's next slot. */
static bool parse_cluster_line(const char *line, size_t len, struct bt_consistency_token *out)
{
    const char *eq = memchr(line, '=', len);
    if (!eq || eq == line || (size_t)(eq - line) >= BT_TOKEN_CLUSTER_ID_MAX ||
        out->count >= BT_MAX_CLUSTERS)
        return false;
    for (const char *c = line; c < eq; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
            return false;
    char number[24];
    size_t digits = len - (size_t)(eq + 1 - line);
    if (digits == 0 || digits >= sizeof(number))
        return false;
    memcpy(number, eq + 1, digits);
    number[digits] = '\0';
    char *end = NULL;
    long long seq = strtoll(number, &end, 10);
    if (*end || seq < -1 || (number[0] == '-' && seq != -1))
        return false;
    snprintf(out->clusters[out->count], BT_TOKEN_CLUSTER_ID_MAX, "%.*s", (int)(eq - line), line);
    out->seqs[out->count++] = seq;
    return true;
}

/* The decoded text (NUL-free, len bytes) into *out; false when it is not a token. */
static bool parse_text(const char *text, size_t len, struct bt_consistency_token *out)
{
    size_t magic = strlen(TOKEN_MAGIC);
    if (len < magic || memcmp(text, TOKEN_MAGIC, magic) != 0 || memchr(text, '\0', len))
        return false;
    const char *p = text + magic, *end = text + len;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl || nl == p || (size_t)(nl - p) >= BT_NAME_MAX)
        return false;
    snprintf(out->table, sizeof(out->table), "%.*s", (int)(nl - p), p);
    for (p = nl + 1; p < end; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl || !parse_cluster_line(p, (size_t)(nl - p), out))
            return false;
    }
    return true;
}

enum em_code bt_consistency_token_parse(const char *text, const char *table,
                                        struct bt_consistency_token *out, struct em_status *st)
{
    unsigned char *raw = NULL;
    size_t len = 0;
    *out = (struct bt_consistency_token){0};
    if (!text || !*text)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "The consistency_token must be specified.");
    bool valid = strlen(text) < TOKEN_MAX * 2 && em_b64_decode(text, strlen(text), &raw, &len) &&
                 parse_text((const char *)raw, len, out);
    free(raw);
    if (!valid)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid consistency token: %.64s", text);
    if (strcmp(out->table, table) != 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "The consistency token was not generated for the table %.400s.", table);
    return EM_OK;
}

/* --- generate and check --- */

/* The highest entry of a replica's log now; -1 when it cannot be read. */
static int64_t last_seq(struct bt_context *bt, const char *replica)
{
    struct em_datafile *file = NULL;
    struct em_status st = {0};
    int64_t seq = -1;
    if (bt_replicas_open_file(bt->replicas, replica, &file, &st))
        return -1;
    if (bt_cells_log_last_seq(file, &seq, &st))
        seq = -1;
    em_datafile_put(file);
    return seq;
}

enum em_code bt_consistency_generate(struct bt_context *bt, const char *table, char **token,
                                     struct em_status *st)
{
    struct bt_route route;
    struct bt_consistency_token t = {0};
    *token = NULL;
    if (bt_route_for(bt->admin, table, NULL, &route, st))
        return st->code;
    snprintf(t.table, sizeof(t.table), "%s", table);
    for (int i = 0; i < route.all_count && bt->replicas; i++) {
        const char *cluster = strstr(route.all_replicas[i], "/clusters/");
        const char *end = cluster ? strstr(cluster + 10, "/tables/") : NULL;
        if (!end || end - (cluster + 10) >= BT_TOKEN_CLUSTER_ID_MAX)
            continue;
        snprintf(t.clusters[t.count], BT_TOKEN_CLUSTER_ID_MAX, "%.*s", (int)(end - (cluster + 10)),
                 cluster + 10);
        t.seqs[t.count++] = last_seq(bt, route.all_replicas[i]);
    }
    bt_route_clear(&route);
    if (!(*token = bt_consistency_token_format(&t)))
        return EM_FAIL_OOM(st);
    return EM_OK;
}

/* Whether the replica of a cluster still holds writes made up to seq; a replica gone
 * (NOT_FOUND) holds none, one that cannot be read now counts as holding them. */
static bool still_holds(struct bt_context *bt, const char *table, const char *cluster_id,
                        int64_t seq)
{
    char replica[BT_NAME_MAX];
    struct em_datafile *file = NULL;
    struct em_status st = {0};
    bool holds = true;
    bt_replica_name(table, cluster_id, replica);
    if (bt_replicas_open_file(bt->replicas, replica, &file, &st))
        return st.code != EM_NOT_FOUND;
    if (bt_cells_log_holds_upto(file, seq, &holds, &st))
        holds = true;
    em_datafile_put(file);
    return holds;
}

enum em_code bt_consistency_check(struct bt_context *bt, const char *table, const cJSON *request,
                                  bool *consistent, struct em_status *st)
{
    struct bt_route route;
    struct bt_consistency_token t;
    *consistent = false;
    if (bt_route_for(bt->admin, table, NULL, &route, st))
        return st->code;
    bt_route_clear(&route);
    if (bt_consistency_token_parse(em_json_string(request, "consistencyToken"), table, &t, st))
        return st->code;
    if (cJSON_GetObjectItem(request, "dataBoostReadLocalWrites")) {
        *consistent = true; /* a write is in its own cluster before it is answered */
        return EM_OK;
    }
    *consistent = true;
    for (int i = 0; i < t.count && bt->replicas && *consistent; i++)
        *consistent = !still_holds(bt, table, t.clusters[i], t.seqs[i]);
    return EM_OK;
}
