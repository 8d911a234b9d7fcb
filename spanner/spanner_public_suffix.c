/*
 * spanner_public_suffix: the public suffix list (see spanner_public_suffix.h), written from
 * the list's format and Google's Spanner's answers (checked against its emulator).
 *
 * A parsed list is one sorted array of nodes, each a domain in ASCII with its flags; the
 * domains on the way to a rule are nodes too (without flags), so a walk from a top-level
 * domain leftwards finds a node at every step until it leaves the list's tree. The names
 * live in one buffer of records, "<flags byte><domain>\0" per rule, and a rule's
 * ancestors point into its record. Read-only once built: any thread may match.
 *
 * The walk over a host's labels, right to left, marks each label matched or not:
 *
 *   the root                        matched (the implicit rule "*")
 *   a label whose domain is a node  matched when the rule there is NORMAL or its parent
 *                                   has a WILDCARD; the walk goes on, unless the node is
 *                                   PRIVATE (not matched, stop) or an EXCEPTION (not
 *                                   matched, its parent matched only under a wildcard,
 *                                   stop)
 *   any other label                 under a parent with a WILDCARD: matched, and the next
 *                                   label not (stop); under the root: nothing (an unknown
 *                                   top-level domain, stop); else not matched (stop)
 *   an empty label                  stop
 *
 * The public suffix starts at the leftmost matched label; the registered domain at the
 * label left of it, when that label was walked (unmatched).
 */
#include "spanner_public_suffix.h"

#include "em_log.h"
#include "spanner_sql_mem.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/uidna.h>

enum {
    NODE_NORMAL = 1,    /* "co.uk": the domain is a public suffix */
    NODE_WILDCARD = 2,  /* "*.kawasaki.jp": each child of the domain is one */
    NODE_EXCEPTION = 4, /* "!city.kawasaki.jp": the domain is none after all */
    NODE_PRIVATE = 8,   /* a rule of the PRIVATE DOMAINS section */
};

/* No rule of the list has more than 5 labels; deeper ones are left out, which bounds a
 * walk. */
#define MAX_RULE_LABELS 16
/* A domain name in ASCII has at most 253 bytes (254 with its trailing dot): a longer
 * conversion is refused by ICU anyway. */
#define ASCII_MAX 512

struct node {
    const char *name;
    size_t len;
    unsigned flags;
};

struct sp_psl {
    char *records; /* "<flags><domain>\0" per rule */
    struct node *nodes;
    size_t count;
};

/* ---- ASCII forms (ICU's UTS #46) ---- */

/* Google converts hosts transitionally (ß becomes ss) with the BIDI check, and the list's
 * rules nontransitionally. */
static UIDNA *idna_hosts, *idna_rules;
static pthread_once_t idna_once = PTHREAD_ONCE_INIT;

static UIDNA *idna_open(uint32_t options)
{
    UErrorCode error = U_ZERO_ERROR;
    UIDNA *idna = uidna_openUTS46(options, &error);
    return U_SUCCESS(error) ? idna : NULL;
}

static void idna_open_both(void)
{
    idna_hosts = idna_open(UIDNA_CHECK_BIDI);
    idna_rules = idna_open(UIDNA_NONTRANSITIONAL_TO_ASCII);
    if (!idna_hosts || !idna_rules)
        em_log(EM_LOG_ERROR, "spanner: ICU's UTS #46 processing could not be set up");
}

/* The ASCII form of the domain name in (len bytes) in out (ASCII_MAX bytes, not
 * terminated), its length in *out_len; false when ICU finds an error in it. */
static bool to_ascii(const UIDNA *idna, const char *in, size_t len, char *out, size_t *out_len)
{
    if (!idna || len > INT32_MAX)
        return false;
    UIDNAInfo info = UIDNA_INFO_INITIALIZER;
    UErrorCode error = U_ZERO_ERROR;
    int32_t n = uidna_nameToASCII_UTF8(idna, in, (int32_t)len, out, ASCII_MAX, &info, &error);
    if (U_FAILURE(error) || info.errors != 0 || n < 0 || n > ASCII_MAX)
        return false;
    *out_len = (size_t)n;
    return true;
}

/* Whether Google matches host in its ASCII form: it has an uppercase letter, a DEL or a
 * byte beyond ASCII. */
static bool needs_ascii_form(const char *host, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)host[i];
        if ((c >= 'A' && c <= 'Z') || c >= 0x7F)
            return true;
    }
    return false;
}

/* ---- parsing ---- */

static size_t count_char(const char *s, size_t len, char c)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += s[i] == c;
    return n;
}

/* Appends rule (its text on a line of the list) to records as "<flags><domain>\0": '!'
 * and "*." taken off into the flags, the domain in ASCII without a trailing dot. A rule
 * ICU refuses, or one with too many labels, is left out. */
static void add_rule(struct sp_buf *records, const char *rule, size_t len, bool private_section)
{
    unsigned flags = NODE_NORMAL;
    if (len > 0 && rule[0] == '!') {
        flags = NODE_EXCEPTION;
        rule++, len--;
    }
    char ascii[ASCII_MAX];
    size_t n;
    if (!to_ascii(idna_rules, rule, len, ascii, &n))
        return;
    if (n > 0 && ascii[n - 1] == '.')
        n--;
    const char *domain = ascii;
    if (flags == NODE_NORMAL && n >= 2 && ascii[0] == '*' && ascii[1] == '.') {
        flags = NODE_WILDCARD;
        domain += 2, n -= 2;
    }
    if (n == 0 || (n == 1 && domain[0] == '*') || count_char(domain, n, '.') >= MAX_RULE_LABELS)
        return; /* "*" is the implicit rule; "" none */
    char flag_byte = (char)(flags | (private_section ? NODE_PRIVATE : 0));
    sp_buf_append(records, &flag_byte, 1);
    sp_buf_append(records, domain, n);
    sp_buf_append(records, "", 1);
}

/* Reads the list's lines into records. A rule is a line's text up to a space, a '/' or a
 * control character (so comments and blank lines give none); the PRIVATE section runs
 * from the line naming its beginning to the one naming its end. */
static void read_rules(struct sp_buf *records, const char *text, size_t len)
{
    bool private_section = false;
    for (size_t at = 0; at < len;) {
        size_t rule_end = at;
        while (rule_end < len && text[rule_end] != ' ' && text[rule_end] != '/' &&
               (unsigned char)text[rule_end] >= 0x20 && text[rule_end] != 0x7F)
            rule_end++;
        if (rule_end > at)
            add_rule(records, text + at, rule_end - at, private_section);
        size_t line_end = rule_end;
        while (line_end < len && text[line_end] != '\n' && text[line_end] != '\r')
            line_end++;
        const char *line = text + at;
        size_t line_len = line_end - at;
        if (memmem(line, line_len, "BEGIN PRIVATE DOMAINS", 21))
            private_section = true;
        else if (memmem(line, line_len, "END PRIVATE DOMAINS", 19))
            private_section = false;
        at = line_end;
        while (at < len && (text[at] == '\n' || text[at] == '\r'))
            at++;
    }
}

static int compare_names(const char *a, size_t a_len, const char *b, size_t b_len)
{
    int c = memcmp(a, b, a_len < b_len ? a_len : b_len);
    return c ? c : (a_len > b_len) - (a_len < b_len);
}

static int compare_nodes(const void *a, const void *b)
{
    const struct node *x = a, *y = b;
    return compare_names(x->name, x->len, y->name, y->len);
}

/* The flags of one domain named by two rules (or a rule and a path to another): the kinds
 * add up; EXCEPTION and PRIVATE stay only when both say so. */
static unsigned merge_flags(unsigned a, unsigned b)
{
    if (!a || !b)
        return a | b;
    return ((a | b) & (NODE_NORMAL | NODE_WILDCARD)) | (a & b & (NODE_EXCEPTION | NODE_PRIVATE));
}

/* The nodes of the records: each rule's domain with its flags, and each domain on the
 * way to it without; sorted, one per domain. */
static bool build_nodes(struct sp_psl *psl, size_t records_len)
{
    size_t count = 0;
    for (size_t at = 0; at < records_len; at += strlen(psl->records + at) + 1)
        count += 1 + count_char(psl->records + at + 1, strlen(psl->records + at + 1), '.');
    psl->nodes = calloc(count ? count : 1, sizeof(*psl->nodes));
    if (!psl->nodes)
        return false;
    for (size_t at = 0; at < records_len; at += strlen(psl->records + at) + 1) {
        unsigned flags = (unsigned char)psl->records[at];
        const char *domain = psl->records + at + 1;
        for (const char *p = domain;; p++) {
            psl->nodes[psl->count++] = (struct node){p, strlen(p), p == domain ? flags : 0};
            p = strchr(p, '.');
            if (!p)
                break;
        }
    }
    qsort(psl->nodes, psl->count, sizeof(*psl->nodes), compare_nodes);
    size_t kept = 0;
    for (size_t i = 0; i < psl->count; i++) {
        if (kept > 0 && compare_nodes(&psl->nodes[kept - 1], &psl->nodes[i]) == 0)
            psl->nodes[kept - 1].flags =
                merge_flags(psl->nodes[kept - 1].flags, psl->nodes[i].flags);
        else
            psl->nodes[kept++] = psl->nodes[i];
    }
    psl->count = kept;
    return true;
}

struct sp_psl *sp_psl_parse(const char *text, size_t len)
{
    pthread_once(&idna_once, idna_open_both);
    if (!idna_rules)
        return NULL;
    struct sp_psl *psl = calloc(1, sizeof(*psl));
    if (!psl)
        return NULL;
    struct sp_buf records = {0};
    read_rules(&records, text, len);
    size_t records_len = records.len;
    if (records.failed) {
        sp_buf_free(&records);
        free(psl);
        return NULL;
    }
    psl->records = sp_buf_take(&records);
    if (!build_nodes(psl, records_len)) {
        sp_psl_free(psl);
        return NULL;
    }
    return psl;
}

void sp_psl_free(struct sp_psl *psl)
{
    if (!psl)
        return;
    free(psl->nodes);
    free(psl->records);
    free(psl);
}

/* ---- the system's list ---- */

static struct sp_psl *system_list;
static pthread_once_t system_once = PTHREAD_ONCE_INIT;

static void load_system_list(void)
{
    FILE *file = fopen(SP_PSL_PATH, "rb");
    struct sp_buf text = {0};
    char chunk[65536];
    size_t n;
    while (file && (n = fread(chunk, 1, sizeof(chunk), file)) > 0)
        sp_buf_append(&text, chunk, n);
    bool read_ok = file && !ferror(file) && !text.failed && text.len > 0;
    if (file)
        fclose(file);
    if (read_ok)
        system_list = sp_psl_parse(text.data, text.len);
    sp_buf_free(&text);
    if (!system_list)
        em_log(EM_LOG_ERROR,
               "spanner: the public suffix list %s could not be read (Debian's publicsuffix "
               "package installs it): NET.REG_DOMAIN and NET.PUBLIC_SUFFIX will fail",
               SP_PSL_PATH);
}

const struct sp_psl *sp_psl_system(void)
{
    pthread_once(&system_once, load_system_list);
    return system_list;
}

/* ---- matching ---- */

static const struct node *find_node(const struct sp_psl *psl, const char *name, size_t len)
{
    size_t lo = 0, hi = psl->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = compare_names(name, len, psl->nodes[mid].name, psl->nodes[mid].len);
        if (c == 0)
            return &psl->nodes[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* A label walked, from its start in the name, and whether a rule covers it. */
struct walked {
    size_t start;
    bool matched;
};

/* The start of the label of name that ends at end. */
static size_t label_start(const char *name, size_t end)
{
    while (end > 0 && name[end - 1] != '.')
        end--;
    return end;
}

/* Walks name's labels (len bytes, without a trailing dot) from the right, as the file's
 * comment draws it; walked[0] is the root, at root_start. Returns the entries made. */
static int walk_labels(const struct sp_psl *psl, const char *name, size_t len, size_t root_start,
                       struct walked *walked)
{
    int n = 0;
    walked[n++] = (struct walked){root_start, true};
    unsigned parent = NODE_WILDCARD;
    bool parent_is_root = true;
    for (size_t end = len;;) {
        size_t start = label_start(name, end);
        if (start == end)
            return n; /* an empty label */
        const struct node *node = find_node(psl, name + start, len - start);
        if (!node) {
            if (parent_is_root)
                return n; /* a top-level domain the list does not know */
            bool wildcard = parent & NODE_WILDCARD;
            walked[n++] = (struct walked){start, wildcard};
            if (wildcard && start > 0 && label_start(name, start - 1) < start - 1)
                walked[n++] = (struct walked){label_start(name, start - 1), false};
            return n;
        }
        if (node->flags & NODE_PRIVATE) {
            walked[n++] = (struct walked){start, false};
            return n;
        }
        if (node->flags & NODE_EXCEPTION) {
            walked[n - 1].matched = parent & NODE_WILDCARD;
            walked[n++] = (struct walked){start, false};
            return n;
        }
        walked[n++] =
            (struct walked){start, (node->flags & NODE_NORMAL) || (parent & NODE_WILDCARD)};
        if (start == 0)
            return n;
        parent = node->flags;
        parent_is_root = false;
        end = start - 1;
    }
}

/* Where part starts in name (len bytes, in ASCII); false when it has none. */
static bool find_part(const struct sp_psl *psl, const char *name, size_t len, enum sp_psl_part part,
                      size_t *start)
{
    struct walked walked[MAX_RULE_LABELS + 3]; /* the root, the nodes, two labels past them */
    size_t walk_len = len > 0 && name[len - 1] == '.' ? len - 1 : len;
    int n = walk_labels(psl, name, walk_len, len, walked);
    int suffix = n - 1;
    while (!walked[suffix].matched) /* walked[0], the root, always is */
        suffix--;
    if (part == SP_PSL_PUBLIC_SUFFIX)
        *start = walked[suffix].start;
    else if (suffix + 1 < n)
        *start = walked[suffix + 1].start;
    else
        return false;
    return *start < len;
}

/* Where host's last dots + 1 labels start (0 when it has no more). */
static size_t same_labels_in(const char *host, size_t len, size_t dots)
{
    for (size_t i = len; i > 0; i--)
        if (host[i - 1] == '.' && dots-- == 0)
            return i;
    return 0;
}

bool sp_psl_find(const struct sp_psl *psl, const char *host, size_t len, enum sp_psl_part part,
                 size_t *offset)
{
    char ascii[ASCII_MAX];
    const char *name = host;
    size_t name_len = len;
    if (needs_ascii_form(host, len)) {
        pthread_once(&idna_once, idna_open_both);
        if (!to_ascii(idna_hosts, host, len, ascii, &name_len))
            return false;
        name = ascii;
    }
    size_t start;
    if (name_len == 0 || !find_part(psl, name, name_len, part, &start))
        return false;
    *offset = same_labels_in(host, len, count_char(name + start, name_len - start, '.'));
    return *offset < len;
}
