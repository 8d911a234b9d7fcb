/*
 * spanner_sql_text: the GoogleSQL string functions that need more than SQLite offers, as
 * SQLite user functions (registered by sp_sql_functions_register):
 *
 *   REGEXP_CONTAINS / REGEXP_EXTRACT / REGEXP_EXTRACT_ALL / REGEXP_REPLACE
 *       RE2 itself (em_regex): a STRING pattern in UTF-8, a BYTES one in Latin-1, as
 *       ZetaSQL compiles them; RE2's refusals are Spanner's "Cannot parse regular
 *       expression: <RE2's reason>". Compiled patterns are cached per statement (auxdata).
 *   SPLIT       on a delimiter (characters when it is empty), STRING or BYTES.
 *   NORMALIZE   and NORMALIZE_AND_CASEFOLD: Unicode normalization forms (libunistring).
 *
 * Errors are "CODE: message", like every sp_* function (spanner_sql_functions.h).
 */
#include "spanner_sql_functions.h"
#include "spanner_sql_udf.h"

#include "em_json.h"
#include "em_regex.h"
#include "spanner_sql_mem.h"
#include "spanner_value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <uninorm.h>

/* The bytes of a STRING (TEXT) or BYTES (BLOB) argument. */
static const char *arg_bytes(sqlite3_value *v, size_t *len)
{
    const char *data = sqlite3_value_type(v) == SQLITE_BLOB ? sqlite3_value_blob(v)
                                                            : (const char *)sqlite3_value_text(v);
    *len = (size_t)sqlite3_value_bytes(v);
    return data ? data : "";
}

static void result_like(sqlite3_context *ctx, sqlite3_value *model, const char *data, size_t len)
{
    if (sqlite3_value_type(model) == SQLITE_BLOB)
        sqlite3_result_blob(ctx, len ? data : "", (int)len, SQLITE_TRANSIENT);
    else
        sqlite3_result_text(ctx, data, (int)len, SQLITE_TRANSIENT);
}

/* A STRING (text) or BYTES (base64) array element in Spanner's JSON encoding. */
static cJSON *piece(bool bytes, const char *data, size_t len)
{
    char *text;
    if (bytes) {
        text = em_b64_encode((const unsigned char *)data, len);
    } else if ((text = malloc(len + 1))) {
        memcpy(text, data, len);
        text[len] = '\0';
    }
    cJSON *item = text ? cJSON_CreateString(text) : NULL;
    free(text);
    return item;
}

static void result_array(sqlite3_context *ctx, cJSON *array)
{
    char *text = array ? cJSON_PrintUnformatted(array) : NULL;
    if (text)
        sqlite3_result_text(ctx, text, -1, SQLITE_TRANSIENT);
    else
        sqlite3_result_error_nomem(ctx);
    free(text);
}

/* ---- REGEXP_*: RE2 (em_regex) ---- */

static void free_regex(void *re)
{
    em_regex_free(re);
}

/* The compiled pattern of argv[i] (cached for the statement); NULL after an error. A STRING
 * pattern is UTF-8, a BYTES one Latin-1 (one byte, one character), as ZetaSQL compiles them. */
static struct em_regex *pattern_arg(sqlite3_context *ctx, sqlite3_value **argv, int i)
{
    struct em_regex *re = sqlite3_get_auxdata(ctx, i);
    if (re)
        return re;
    size_t len;
    const char *pattern = arg_bytes(argv[i], &len);
    enum em_regex_encoding encoding =
        sqlite3_value_type(argv[i]) == SQLITE_BLOB ? EM_REGEX_LATIN1 : EM_REGEX_UTF8;
    struct em_status why = {0};
    enum em_code rc = em_regex_compile_as((const uint8_t *)pattern, len, encoding, &re, &why);
    if (rc == EM_INVALID_ARGUMENT) {
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: Cannot parse regular expression: %.300s", why.message);
        return NULL;
    }
    if (rc) {
        sqlite3_result_error_nomem(ctx);
        return NULL;
    }
    sqlite3_set_auxdata(ctx, i, re, free_regex);
    return sqlite3_get_auxdata(ctx, i); /* NULL if SQLite could not keep it (freed) */
}

/* One REGEXP_* call: the value searched, its pattern, and the spans of the last match
 * (the whole match and, for an extraction, its group). */
struct re_run {
    const struct em_regex *re;
    const char *subject;
    size_t len;
    struct em_regex_span spans[10]; /* \0 to \9 of a replacement */
    int n_spans;
};

static bool re_begin(sqlite3_context *ctx, sqlite3_value **argv, struct re_run *run)
{
    run->subject = arg_bytes(argv[0], &run->len);
    run->re = pattern_arg(ctx, argv, 1);
    if (!run->re)
        return false;
    int groups = em_regex_groups(run->re);
    run->n_spans = groups < 9 ? groups + 1 : 10;
    return true;
}

/* Matches from offset: 1 on a match (spans filled), 0 on none, -1 after an error. */
static int re_match(sqlite3_context *ctx, struct re_run *run, size_t offset)
{
    int rc = em_regex_search(run->re, (const uint8_t *)run->subject, run->len, offset, run->spans,
                             run->n_spans);
    if (rc < 0)
        sqlite3_result_error_nomem(ctx);
    return rc;
}

/* The length of the UTF-8 character at s (1 for bytes or at the end). */
static size_t char_len(const struct re_run *run, size_t at, bool utf)
{
    if (!utf || at >= run->len)
        return 1;
    size_t n = 1;
    while (at + n < run->len && ((unsigned char)run->subject[at + n] & 0xC0) == 0x80)
        n++;
    return n;
}

static void fn_regexp_contains(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct re_run run;
    if (sp_fn_any_null(argc, argv) || !re_begin(ctx, argv, &run))
        return;
    int rc = re_match(ctx, &run, 0);
    if (rc >= 0)
        sqlite3_result_int(ctx, rc);
}

/* The part an extraction returns: the capture group if the pattern has one. */
static bool extraction_group(sqlite3_context *ctx, const struct re_run *run, int *group)
{
    int groups = em_regex_groups(run->re);
    if (groups > 1) {
        sp_fn_error(ctx, "OUT_OF_RANGE: Regular expressions passed into extraction functions "
                         "must not have more than 1 capturing group");
        return false;
    }
    *group = groups;
    return true;
}

static void fn_regexp_extract(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct re_run run;
    int group;
    if (sp_fn_any_null(argc, argv) || !re_begin(ctx, argv, &run))
        return;
    if (extraction_group(ctx, &run, &group) && re_match(ctx, &run, 0) > 0) {
        const struct em_regex_span *g = &run.spans[group];
        if (g->set) /* an unmatched optional group: NULL */
            result_like(ctx, argv[0], run.subject + g->from, g->to - g->from);
    }
}

/* REGEXP_EXTRACT_ALL: an ARRAY<STRING> or ARRAY<BYTES> in its stored JSON form. */
static void fn_regexp_extract_all(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct re_run run;
    int group;
    if (sp_fn_any_null(argc, argv) || !re_begin(ctx, argv, &run))
        return;
    bool bytes = sqlite3_value_type(argv[0]) == SQLITE_BLOB;
    cJSON *array = cJSON_CreateArray();
    size_t at = 0;
    int rc = extraction_group(ctx, &run, &group) ? 1 : -1;
    /* no match is tried at the very end of a non-empty value (ZetaSQL's rule) */
    while (array && rc > 0 && (at < run.len || (at == 0 && run.len == 0)) &&
           (rc = re_match(ctx, &run, at)) > 0) {
        const struct em_regex_span *m = &run.spans[0], *g = &run.spans[group];
        cJSON *item =
            g->set ? piece(bytes, run.subject + g->from, g->to - g->from) : cJSON_CreateNull();
        cJSON_AddItemToArray(array, item);
        at = m->to > m->from ? m->to : m->to + char_len(&run, m->to, !bytes);
    }
    if (rc >= 0)
        result_array(ctx, array);
    cJSON_Delete(array);
}

/* Appends REGEXP_REPLACE's replacement for the current match (\0-\9 and \\). */
static bool append_replacement(sqlite3_context *ctx, struct sp_buf *out, const struct re_run *run,
                               const char *rep, size_t rep_len)
{
    for (size_t i = 0; i < rep_len; i++) {
        if (rep[i] != '\\') {
            sp_buf_append(out, rep + i, 1);
            continue;
        }
        char next = i + 1 < rep_len ? rep[i + 1] : '\0';
        i++;
        if (next == '\\') {
            sp_buf_append(out, "\\", 1);
        } else if (next >= '0' && next <= '9' && next - '0' < run->n_spans) {
            const struct em_regex_span *g = &run->spans[next - '0'];
            if (g->set)
                sp_buf_append(out, run->subject + g->from, g->to - g->from);
        } else {
            sp_fn_error(ctx, next >= '0' && next <= '9'
                                 ? "OUT_OF_RANGE: Rewrite schema requests more capturing "
                                   "groups than the regular expression has"
                                 : "OUT_OF_RANGE: Rewrite schema error: '\\' must be followed "
                                   "by a digit or '\\'");
            return false;
        }
    }
    return true;
}

/* REGEXP_REPLACE with RE2's GlobalReplace rules: an empty match right after the previous
 * match is skipped (one character copied instead). */
static void fn_regexp_replace(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct re_run run;
    if (sp_fn_any_null(argc, argv) || !re_begin(ctx, argv, &run))
        return;
    bool utf = sqlite3_value_type(argv[0]) != SQLITE_BLOB;
    size_t rep_len;
    const char *rep = arg_bytes(argv[2], &rep_len);
    struct sp_buf out = {0};
    size_t at = 0, last_end = (size_t)-1;
    int rc = 1;
    while (at <= run.len && (rc = re_match(ctx, &run, at)) > 0) {
        const struct em_regex_span *m = &run.spans[0];
        sp_buf_append(&out, run.subject + at, m->from - at);
        if (m->from == m->to && m->from == last_end) {
            size_t n = char_len(&run, m->from, utf);
            if (m->from < run.len)
                sp_buf_append(&out, run.subject + m->from, n);
            at = m->from + n;
            continue;
        }
        if (!append_replacement(ctx, &out, &run, rep, rep_len)) {
            rc = -1;
            break;
        }
        at = last_end = m->to;
    }
    if (rc >= 0) {
        if (at < run.len)
            sp_buf_append(&out, run.subject + at, run.len - at);
        if (out.failed)
            sqlite3_result_error_nomem(ctx);
        else
            result_like(ctx, argv[0], out.data ? out.data : "", out.len);
    }
    sp_buf_free(&out);
}

/* ---- SPLIT ---- */

/* sp_split(value, delimiter): ARRAY<STRING|BYTES>; an empty delimiter splits a STRING into
 * characters and BYTES into bytes; an empty value gives one empty element. */
static void fn_split(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    bool bytes = sqlite3_value_type(argv[0]) == SQLITE_BLOB;
    size_t len, dlen;
    const char *s = arg_bytes(argv[0], &len), *d = arg_bytes(argv[1], &dlen);
    cJSON *array = cJSON_CreateArray();
    size_t start = 0;
    for (size_t i = 0; array && len && i < len;) {
        size_t n = 1;
        if (dlen == 0) {
            while (!bytes && i + n < len && ((unsigned char)s[i + n] & 0xC0) == 0x80)
                n++;
            cJSON_AddItemToArray(array, piece(bytes, s + i, n));
            i += n;
            start = i;
        } else if (i + dlen <= len && memcmp(s + i, d, dlen) == 0) {
            cJSON_AddItemToArray(array, piece(bytes, s + start, i - start));
            i += dlen;
            start = i;
        } else {
            i++;
        }
    }
    if (array && (dlen || !len))
        cJSON_AddItemToArray(array, piece(bytes, s + start, len - start));
    result_array(ctx, array);
    cJSON_Delete(array);
}

/* ---- SPLIT_SUBSTR ---- */

/* Where the next delimiter at or after from starts in s (len when none). */
static size_t next_delimiter(const char *s, size_t len, size_t from, const char *d, size_t dlen)
{
    const char *found = memmem(s + from, len - from, d, dlen);
    return found ? (size_t)(found - s) : len;
}

/* sp_split_substr(value, delimiter, start_split, count): the splits of value at delimiter
 * (matched left to right, never overlapping) numbered from 1, from start_split (negative:
 * counted from the end; 0, or before the first: the first; past the last: "") for at most
 * count splits, with the delimiters between them: a piece of value itself. GoogleSQL's
 * errors for an empty delimiter and a negative count. */
static void fn_split_substr(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    size_t len, dlen;
    const char *s = arg_bytes(argv[0], &len), *d = arg_bytes(argv[1], &dlen);
    sqlite3_int64 start = sqlite3_value_int64(argv[2]), count = sqlite3_value_int64(argv[3]);
    if (dlen == 0) {
        sp_fn_error(ctx, "OUT_OF_RANGE: Delimiter of SPLIT_SUBSTR function must be non-empty");
        return;
    }
    if (count < 0) {
        sp_fn_error(ctx, "OUT_OF_RANGE: Count of SPLIT_SUBSTR function must be non-negative");
        return;
    }
    sqlite3_int64 splits = 1;
    for (size_t at = next_delimiter(s, len, 0, d, dlen); at < len;
         at = next_delimiter(s, len, at + dlen, d, dlen))
        splits++;
    if (start >= 1)
        start--;
    else if (start < 0)
        start = start >= -splits ? splits + start : 0;
    if (count == 0 || len == 0 || start >= splits) {
        sqlite3_result_text(ctx, "", 0, SQLITE_STATIC);
        return;
    }
    sqlite3_int64 last = start + (count < splits - start ? count : splits - start) - 1;
    size_t begin = 0, end = next_delimiter(s, len, 0, d, dlen);
    for (sqlite3_int64 i = 0; i < last; i++) {
        if (i < start)
            begin = end + dlen;
        end = next_delimiter(s, len, end + dlen, d, dlen);
    }
    sqlite3_result_text(ctx, s + begin, (int)(end - begin), SQLITE_TRANSIENT);
}

/* ---- NORMALIZE ---- */

/* sp_normalize(text, 'NFC' | 'NFKC' | 'NFD' | 'NFKD', casefold): Unicode normalization
 * (libunistring), after full case folding for NORMALIZE_AND_CASEFOLD. */
static void fn_normalize(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    const char *name = (const char *)sqlite3_value_text(argv[1]);
    uninorm_t mode = !name                       ? NULL
                     : strcmp(name, "NFC") == 0  ? UNINORM_NFC
                     : strcmp(name, "NFKC") == 0 ? UNINORM_NFKC
                     : strcmp(name, "NFD") == 0  ? UNINORM_NFD
                     : strcmp(name, "NFKD") == 0 ? UNINORM_NFKD
                                                 : NULL;
    if (!mode) {
        sp_fn_error(ctx, "INTERNAL: an unknown normalization form");
        return;
    }
    size_t len = 0, n;
    const uint8_t *in = (const uint8_t *)arg_bytes(argv[0], &n);
    uint8_t *out = sqlite3_value_int(argv[2]) ? u8_casefold(in, n, NULL, mode, NULL, &len)
                                              : u8_normalize(mode, in, n, NULL, &len);
    sp_fn_result_unistring(ctx, out, len);
}

int sp_sql_text_functions_register(sqlite3 *db)
{
    static const struct sp_sql_scalar functions[] = {
        {"sp_regexp_contains", 2, fn_regexp_contains},
        {"sp_regexp_extract", 2, fn_regexp_extract},
        {"sp_regexp_extract_all", 2, fn_regexp_extract_all},
        {"sp_regexp_replace", 3, fn_regexp_replace},
        {"sp_split", 2, fn_split},
        {"sp_split_substr", 4, fn_split_substr},
        {"sp_normalize", 3, fn_normalize},
    };
    return sp_sql_register_scalars(db, functions, sizeof(functions) / sizeof(functions[0]));
}
