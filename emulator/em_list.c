/*
 * em_list: filter, order and page a JSON collection (see em_list.h).
 * Page token = base64url("<offset>:<crc32c of filter and orderBy>").
 */
#include "em_list.h"

#include "em_call.h"
#include "em_crypto.h"
#include "em_filter.h"
#include "em_json.h"
#include "em_names.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ORDER_KEYS 4

struct order_key {
    char path[128];
    bool descending;
};

/* --- orderBy --- */

static const cJSON *lookup_path(const cJSON *item, const char *path)
{
    char segment[128];
    const char *p = path;
    while (item && *p) {
        size_t n = strcspn(p, ".");
        if (n >= sizeof(segment))
            return NULL;
        memcpy(segment, p, n);
        segment[n] = '\0';
        item = cJSON_GetObjectItemCaseSensitive(item, segment);
        p += n;
        if (*p == '.')
            p++;
    }
    return item;
}

static bool parse_one_key(const char *text, size_t len, struct order_key *key)
{
    while (len > 0 && isspace((unsigned char)*text)) {
        text++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        len--;
    key->descending = false;
    if (len > 5 && strncmp(text + len - 5, " desc", 5) == 0) {
        key->descending = true;
        len -= 5;
    } else if (len > 4 && strncmp(text + len - 4, " asc", 4) == 0) {
        len -= 4;
    }
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        len--;
    if (len == 0 || len >= sizeof(key->path))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)text[i]) && text[i] != '_' && text[i] != '.')
            return false;
    memcpy(key->path, text, len);
    key->path[len] = '\0';
    return true;
}

static int parse_order(const char *order_by, struct order_key *keys, struct em_status *st)
{
    int n = 0;
    const char *p = order_by;
    while (p && *p) {
        size_t len = strcspn(p, ",");
        if (n == MAX_ORDER_KEYS || !parse_one_key(p, len, &keys[n])) {
            EM_FAIL(st, EM_INVALID_ARGUMENT,
                    "Invalid order_by \"%.100s\": expected "
                    "\"field [desc], ...\".",
                    order_by);
            return -1;
        }
        n++;
        p += len;
        if (*p == ',')
            p++;
    }
    return n;
}

static int compare_values(const cJSON *a, const cJSON *b)
{
    if (!a || !b)
        return a ? 1 : (b ? -1 : 0);
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
        return (a->valuedouble > b->valuedouble) - (a->valuedouble < b->valuedouble);
    if (cJSON_IsString(a) && cJSON_IsString(b)) {
        int64_t ta, tb;
        if (em_time_parse(a->valuestring, &ta) && em_time_parse(b->valuestring, &tb))
            return (ta > tb) - (ta < tb);
        return strcmp(a->valuestring, b->valuestring);
    }
    return 0;
}

struct sort_ctx {
    const struct order_key *keys;
    int count;
};

static int compare_items(const cJSON *a, const cJSON *b, const struct sort_ctx *ctx)
{
    for (int i = 0; i < ctx->count; i++) {
        int c =
            compare_values(lookup_path(a, ctx->keys[i].path), lookup_path(b, ctx->keys[i].path));
        if (c)
            return ctx->keys[i].descending ? -c : c;
    }
    return 0;
}

struct ranked {
    cJSON *item;
    int position; /* tie-breaker that keeps the sort stable */
};

static int compare_ranked(const void *a, const void *b, void *arg)
{
    const struct ranked *x = a, *y = b;
    int c = compare_items(x->item, y->item, arg);
    return c ? c : (x->position > y->position) - (x->position < y->position);
}

/* Stable sort of an array of item pointers by the order keys. */
static bool sort_items(cJSON **items, int n, const struct sort_ctx *ctx)
{
    if (ctx->count == 0 || n < 2)
        return true;
    struct ranked *r = malloc((size_t)n * sizeof(*r));
    if (!r)
        return false;
    for (int i = 0; i < n; i++)
        r[i] = (struct ranked){items[i], i};
    qsort_r(r, (size_t)n, sizeof(*r), compare_ranked, (void *)ctx);
    for (int i = 0; i < n; i++)
        items[i] = r[i].item;
    free(r);
    return true;
}

/* --- page tokens --- */

static uint32_t query_fingerprint(const char *filter, const char *order_by)
{
    char text[EM_FILTER_MAX_LEN + 300];
    snprintf(text, sizeof(text), "%s\n%s", filter ? filter : "", order_by ? order_by : "");
    return em_crc32c(text, strlen(text));
}

static char *make_token(long offset, uint32_t fingerprint)
{
    char raw[48];
    snprintf(raw, sizeof(raw), "%ld:%08x", offset, fingerprint);
    char *token = em_b64_encode((const unsigned char *)raw, strlen(raw));
    for (char *p = token; p && *p; p++)
        if (*p == '=')
            *p = '\0';
    return token;
}

static enum em_code read_token(const char *token, uint32_t fingerprint, long *offset,
                               struct em_status *st)
{
    *offset = 0;
    if (!token || !*token)
        return EM_OK;
    unsigned char *raw = NULL;
    size_t len = 0;
    char text[48] = "";
    if (em_b64_decode(token, strlen(token), &raw, &len) && len < sizeof(text))
        memcpy(text, raw, len);
    free(raw);
    unsigned fp = 0;
    /* an offset no list can reach would overflow offset + page_size */
    if (sscanf(text, "%ld:%8x", offset, &fp) != 2 || *offset < 0 || *offset > INT_MAX)
        return EM_ERR_PAGE_TOKEN_INVALID(st, token);
    if (fp != fingerprint)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "The page token was made for another filter or order_by; list again "
                       "from the first page.");
    return EM_OK;
}

/* --- the page --- */

static int filter_items(cJSON *items, const struct em_filter *filter, cJSON ***out)
{
    int n = cJSON_GetArraySize(items), kept = 0;
    cJSON **kept_items = calloc((size_t)(n > 0 ? n : 1), sizeof(*kept_items));
    if (!kept_items)
        return -1;
    cJSON *item;
    cJSON_ArrayForEach(item, items) if (em_filter_match(filter, item)) kept_items[kept++] = item;
    *out = kept_items;
    return kept;
}

static cJSON *build_reply(cJSON **kept, int kept_count, long offset, int page_size,
                          uint32_t fingerprint, const struct em_list_options *opt)
{
    cJSON *reply = cJSON_CreateObject();
    long end = page_size > 0 && offset + page_size < kept_count ? offset + page_size : kept_count;
    if (end > offset) {
        cJSON *array = cJSON_AddArrayToObject(reply, opt->items_field);
        for (long i = offset; i < end; i++)
            cJSON_AddItemToArray(array, cJSON_Duplicate(kept[i], true));
    }
    if (end < kept_count) {
        char *token = make_token(end, fingerprint);
        cJSON_AddStringToObject(reply, "nextPageToken", token ? token : "");
        free(token);
    }
    if (opt->total_size)
        cJSON_AddNumberToObject(reply, "totalSize", kept_count);
    return reply;
}

enum em_code em_list_page(cJSON *items, const char *filter_text, const char *order_by,
                          int page_size, const char *page_token, const struct em_list_options *opt,
                          cJSON **reply, struct em_status *st)
{
    struct order_key keys[MAX_ORDER_KEYS];
    struct em_filter *filter = NULL;
    cJSON **kept = NULL;
    long offset;
    uint32_t fingerprint = query_fingerprint(filter_text, order_by);
    int key_count = parse_order(order_by, keys, st);
    if (key_count < 0 || read_token(page_token, fingerprint, &offset, st) ||
        em_filter_parse(filter_text && !opt->filtered ? filter_text : "", &filter, st))
        goto out;
    int kept_count = filter_items(items, filter, &kept);
    struct sort_ctx ctx = {keys, key_count};
    if (kept_count < 0 || !sort_items(kept, kept_count, &ctx)) {
        EM_FAIL_OOM(st);
        goto out;
    }
    if (page_size <= 0)
        page_size = opt->default_page_size;
    if (opt->max_page_size > 0 && page_size > opt->max_page_size)
        page_size = opt->max_page_size;
    *reply = build_reply(kept, kept_count, offset, page_size, fingerprint, opt);
    st->code = EM_OK;
out:
    free(kept);
    em_filter_free(filter);
    cJSON_Delete(items);
    return st->code;
}

enum em_code em_list_reply(struct em_call *call, cJSON *items, const struct em_list_options *opt)
{
    int64_t page_size;
    if (em_call_query_int(call, "pageSize", 0, 0, 1000000, &page_size)) {
        cJSON_Delete(items);
        return call->status.code;
    }
    cJSON *reply = NULL;
    if (em_list_page(items, em_call_query(call, "filter"), em_call_query(call, "orderBy"),
                     (int)page_size, em_call_query(call, "pageToken"), opt, &reply, &call->status))
        return call->status.code;
    return em_call_reply(call, reply);
}

enum em_code em_list_reply_result(struct em_call *call, enum em_code rc, cJSON *items,
                                  const char *field)
{
    if (rc) {
        cJSON_Delete(items);
        return rc;
    }
    struct em_list_options opt = {field, 0, 1000, false};
    return em_list_reply(call, items, &opt);
}
