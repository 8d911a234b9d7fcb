/*
 * em_list: the List methods of every service (AIP-132, AIP-158, AIP-160), done once.
 *
 * A handler builds the JSON of every resource in the collection (in the collection's
 * natural order), and em_list_page() applies `filter` (em_filter), `orderBy`
 * ("field[ desc][, field2 ...]"), `pageSize` and `pageToken`, then builds the reply
 * {"<items_field>": [...], "nextPageToken": "...", "totalSize": n}. Page tokens encode
 * the position after the last item returned, bound to the filter and order they were
 * made with: a token reused with another filter is INVALID_ARGUMENT, as in Google.
 */
#ifndef EM_LIST_H
#define EM_LIST_H

#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

struct em_call;

struct em_list_options {
    const char *items_field; /* "cryptoKeys" */
    int default_page_size;   /* used when pageSize is 0 or absent (0: everything) */
    int max_page_size;       /* larger requests are clamped, as Google does */
    bool total_size;         /* include "totalSize" in the reply */
    bool filtered; /* the handler applied `filter` (its own rules); it still binds page tokens */
};

/* Takes ownership of items (a JSON array). Reads filter, orderBy, pageSize and
 * pageToken from the call's query, replies through em_call_reply(). */
enum em_code em_list_reply(struct em_call *call, cJSON *items, const struct em_list_options *opt);

/* A list handler's last step after a domain call: rc when it failed, else items (taken)
 * listed under field, in pages of at most 1,000 (everything when no pageSize is asked). */
enum em_code em_list_reply_result(struct em_call *call, enum em_code rc, cJSON *items,
                                  const char *field);

/* The same on explicit arguments; *reply is the reply object. */
enum em_code em_list_page(cJSON *items, const char *filter, const char *order_by, int page_size,
                          const char *page_token, const struct em_list_options *opt, cJSON **reply,
                          struct em_status *st);

#endif
