/*
 * spanner_public_suffix: the public suffix list and the two questions GoogleSQL's
 * NET.PUBLIC_SUFFIX and NET.REG_DOMAIN ask of it, answered as Google's Spanner answers
 * them.
 *
 * The list is publicsuffix.org's, as Debian's publicsuffix package installs it
 * (SP_PSL_PATH), read once per process; tests parse their own text. Its ICANN rules say
 * which domains are public suffixes ("co.uk"), which domains' children all are
 * ("*.kawasaki.jp") and which child is not after all ("!city.kawasaki.jp"). Its PRIVATE
 * section (blogspot.com, github.io, ...) is no public suffix here: foo.blogspot.com's
 * public suffix is com, as in Spanner.
 *
 * Google's walk differs from the list's own algorithm (and from libpsl) in one place: a
 * domain under which only a wildcard rule exists, such as kawasaki.jp or sch.uk, is no
 * public suffix itself (kawasaki.jp's public suffix is jp, its registered domain
 * kawasaki.jp), unless it is a top-level domain, which the implicit rule "*" covers (ck's
 * public suffix is ck). A top-level domain the list does not know has neither answer, and
 * an empty label ends the walk (a..com's public suffix is com, its registered domain
 * NULL).
 *
 * Both answers are taken from the host as written: a host with an uppercase letter or a
 * non-ASCII byte is matched in its ASCII form (ICU's UTS #46 processing, transitional,
 * with the BIDI check, as Google; a host that fails there has no answer), and the answer
 * is as many labels from the host's right end as the ASCII match has, so WWW.Google.COM's
 * registered domain is Google.COM and a trailing dot stays ("google.com.").
 *
 * Reference: https://cloud.google.com/spanner/docs/reference/standard-sql/net_functions
 * and https://publicsuffix.org/list/ (the list's format).
 */
#ifndef SPANNER_PUBLIC_SUFFIX_H
#define SPANNER_PUBLIC_SUFFIX_H

#include <stdbool.h>
#include <stddef.h>

/* Where Debian's publicsuffix package installs the list. */
#define SP_PSL_PATH "/usr/share/publicsuffix/public_suffix_list.dat"

struct sp_psl;

/* The list in text (len bytes, public_suffix_list.dat's format), parsed; NULL when out of
 * memory or when ICU cannot be set up. Rules ICU cannot convert to ASCII are left out, as
 * Google leaves them out. */
struct sp_psl *sp_psl_parse(const char *text, size_t len);
void sp_psl_free(struct sp_psl *psl);

/* The list at SP_PSL_PATH, read on the first call (thread-safe) and kept for the
 * process; NULL when it could not be read (logged once). */
const struct sp_psl *sp_psl_system(void);

enum sp_psl_part {
    SP_PSL_PUBLIC_SUFFIX,     /* NET.PUBLIC_SUFFIX: "co.uk" of "www.google.co.uk" */
    SP_PSL_REGISTERED_DOMAIN, /* NET.REG_DOMAIN: "google.co.uk" */
};

/* Where in host (len bytes, as NET.HOST returns it) its public suffix or registered
 * domain starts (*offset: it runs to the end of host); false when it has none (the
 * function's NULL). */
bool sp_psl_find(const struct sp_psl *psl, const char *host, size_t len, enum sp_psl_part part,
                 size_t *offset);

#endif
