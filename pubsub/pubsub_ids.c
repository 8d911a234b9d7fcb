/*
 * pubsub_ids: the identifiers of Pub/Sub and the backoff arithmetic, as pure functions.
 *
 *   resource IDs  topics, subscriptions, snapshots: 3-255 characters, starting with a
 *                 letter, letters digits - _ . ~ + %, not starting with "goog" (the rule
 *                 in Topic.name / Subscription.name of the pubsub v1 reference)
 *   message IDs   the topic's sequence number in decimal ("1", "2", ...): unique within
 *                 the topic, as Google promises
 *   ack IDs       base64url (no padding) of 21 bytes:
 *                   'A' | subscription id (4, BE) | seq (8, BE) | delivery gen (4, BE) |
 *                   CRC32C of the first 17 bytes (4, BE)
 *                 so an ack ID names one delivery of one message on one subscription and
 *                 garbage is told apart from a stale ID
 *   backoff       retry policy: min * 2^(attempts - 1) capped at max; push without a
 *                 policy: 100 ms doubling up to 60 s
 */
#include "pubsub_model.h"

#include "em_crypto.h"
#include "em_names.h"

#include <ctype.h>
#include <inttypes.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool id_char(char c)
{
    return isalnum((unsigned char)c) || strchr("-_.~+%", c) != NULL;
}

enum em_code ps_check_id(const char *kind, const char *id, struct em_status *st)
{
    size_t len = strlen(id);
    bool ok = len >= 3 && len <= 255 && isalpha((unsigned char)id[0]) &&
              (unsigned char)id[0] < 128 && strncmp(id, "goog", 4) != 0; /* lowercase only */
    for (size_t i = 0; ok && i < len; i++)
        ok = id_char(id[i]) && (unsigned char)id[i] < 128;
    if (ok)
        return EM_OK;
    return EM_FAIL(st, EM_INVALID_ARGUMENT,
                   "Invalid %s ID \"%.260s\": it must be 3 to 255 characters, start with a "
                   "letter, contain only letters, numbers, dashes (-), underscores (_), "
                   "periods (.), tildes (~), plus (+) or percent signs (%%), and not start "
                   "with \"goog\".",
                   kind, id);
}

enum em_code ps_parse_name(const char *name, const char *collection, char *project,
                           size_t project_len, char *id, size_t id_len, struct em_status *st)
{
    const char *kind = strcmp(collection, "topics") == 0          ? "topic"
                       : strcmp(collection, "subscriptions") == 0 ? "subscription"
                       : strcmp(collection, "schemas") == 0       ? "schema"
                                                                  : "snapshot";
    size_t clen = strlen(collection);
    const char *slash;
    if (!name || strncmp(name, "projects/", 9) != 0 || !(slash = strchr(name + 9, '/')) ||
        strncmp(slash + 1, collection, clen) != 0 || slash[1 + clen] != '/' ||
        strchr(slash + 2 + clen, '/') || (size_t)(slash - name - 9) >= project_len ||
        strlen(slash + 2 + clen) >= id_len)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid resource name given (name=%.300s). Refer to "
                       "https://cloud.google.com/pubsub/docs/pubsub-basics#resource_names for "
                       "more information.",
                       name ? name : "");
    memcpy(project, name + 9, (size_t)(slash - name - 9));
    project[slash - name - 9] = '\0';
    snprintf(id, id_len, "%s", slash + 2 + clen);
    if (em_project_check(project, st))
        return st->code;
    return ps_check_id(kind, id, st);
}

void ps_message_id(int64_t seq, char out[PS_MESSAGE_ID_MAX])
{
    snprintf(out, PS_MESSAGE_ID_MAX, "%" PRId64, seq);
}

/* --- ack IDs --- */

#define ACK_RAW 21

static void put_be(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)(v & 0xff);
}

static uint64_t get_be(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | p[i];
    return v;
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void ps_ack_id_encode(const struct ps_ack_ref *ref, char out[PS_ACK_ID_MAX])
{
    unsigned char raw[ACK_RAW];
    raw[0] = 'A';
    put_be(raw + 1, ref->sub_id, 4);
    put_be(raw + 5, (uint64_t)ref->seq, 8);
    put_be(raw + 13, ref->gen, 4);
    put_be(raw + 17, em_crc32c(raw, 17), 4);
    size_t o = 0;
    for (size_t i = 0; i < ACK_RAW; i += 3) { /* 21 bytes: exactly 7 groups of 3 */
        uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
        out[o++] = b64url[v >> 6 & 63];
        out[o++] = b64url[v & 63];
    }
    out[o] = '\0';
}

static int b64url_value(char c)
{
    const char *p = c ? strchr(b64url, c) : NULL;
    return p ? (int)(p - b64url) : -1;
}

bool ps_ack_id_decode(const char *text, struct ps_ack_ref *out)
{
    if (!text || strlen(text) != ACK_RAW / 3 * 4)
        return false;
    unsigned char raw[ACK_RAW];
    for (size_t i = 0, o = 0; i < ACK_RAW / 3 * 4; i += 4, o += 3) {
        uint32_t v = 0;
        for (int k = 0; k < 4; k++) {
            int d = b64url_value(text[i + k]);
            if (d < 0)
                return false;
            v = v << 6 | (uint32_t)d;
        }
        raw[o] = (unsigned char)(v >> 16);
        raw[o + 1] = (unsigned char)(v >> 8);
        raw[o + 2] = (unsigned char)v;
    }
    if (raw[0] != 'A' || get_be(raw + 17, 4) != em_crc32c(raw, 17))
        return false;
    out->sub_id = (uint32_t)get_be(raw + 1, 4);
    out->seq = (int64_t)get_be(raw + 5, 8);
    out->gen = (uint32_t)get_be(raw + 13, 4);
    return out->seq > 0;
}

/* --- backoff --- */

int64_t ps_retry_backoff(const struct ps_retry *retry, uint32_t attempts)
{
    if (!retry || !retry->set)
        return 0;
    int64_t delay = retry->min_ns;
    for (uint32_t i = 1; i < attempts && delay < retry->max_ns; i++)
        delay *= 2;
    return delay < retry->max_ns ? delay : retry->max_ns;
}

int64_t ps_push_backoff(uint32_t failures)
{
    int64_t delay = EM_NS_PER_SEC / 10, max = 60 * EM_NS_PER_SEC;
    for (uint32_t i = 1; i < failures && delay < max; i++)
        delay *= 2;
    return delay < max ? delay : max;
}

void ps_topic_file_name(const char *topic, char out[PS_FILE_NAME_MAX])
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)topic, strlen(topic), digest);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
    snprintf(out + 2 * SHA256_DIGEST_LENGTH, PS_FILE_NAME_MAX - 2 * SHA256_DIGEST_LENGTH, ".db");
}

/* --- messages --- */

void ps_message_clear(struct ps_message *m)
{
    if (!m)
        return;
    if (m->data)
        em_wipe(m->data, m->data_len);
    free(m->data);
    free(m->attributes);
    free(m->ordering_key);
    memset(m, 0, sizeof(*m));
}

void ps_messages_free(struct ps_message *msgs, size_t count)
{
    for (size_t i = 0; msgs && i < count; i++)
        ps_message_clear(&msgs[i]);
    free(msgs);
}
