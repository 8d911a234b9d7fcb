/*
 * fuzz_pubsub_filter: arbitrary text into ps_filter_compile, Pub/Sub's filter grammar
 * (pubsub/pubsub_filter.c), which rewrites the filter into a canonical text for em_filter:
 * the rewrite's bound (4 bytes out per byte in), escapes, nesting and the hand-over must
 * never crash, overflow or leak. Whatever compiles is matched against a few attribute
 * sets, and a refusal must leave no filter and say why.
 */
#include "fuzz_text.h"
#include "pubsub/pubsub_model.h"

#include "em_filter.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const attribute_sets[] = {
    "",
    "{}",
    "{\"kind\": \"a\", \"region\": \"eu-west\"}",
    "{\"iana.org/language_tag\": \"en\", \"x y\": \"\", \"k\": \"\\u00e9\\\"*\"}",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;
    struct em_status st = {0};
    struct em_filter *filter = NULL;
    if (ps_filter_compile(text, &filter, &st) == EM_OK) {
        size_t matched = 0;
        for (size_t i = 0; i < sizeof(attribute_sets) / sizeof(attribute_sets[0]); i++)
            matched += ps_filter_matches(filter, attribute_sets[i]);
        (void)matched;
        em_filter_free(filter);
    } else if (filter != NULL || st.code == EM_OK || !st.message[0]) {
        abort(); /* a refusal returns no filter and says why */
    }
    free(text);
    return 0;
}
