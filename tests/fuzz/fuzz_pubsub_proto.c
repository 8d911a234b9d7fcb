/*
 * fuzz_pubsub_proto: arbitrary Protocol Buffer schema definitions, and messages checked
 * against those that parse (pubsub_proto.h).
 *
 * Input: <definition> NUL <message>. The definition is everything before the first NUL
 * byte (a definition may not hold one); without a NUL the whole input is a definition.
 * Whatever follows is validated both as JSON and as binary. Parsing, validating and
 * freeing must never crash, leak, overflow the stack or take quadratic time, and every
 * refusal is INVALID_ARGUMENT with a message.
 */
#include "pubsub/pubsub_proto.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void expect_refusal_said_why(enum em_code code, const struct em_status *st)
{
    if (code != EM_OK && (code != EM_INVALID_ARGUMENT || st->code != code || !st->message[0]))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t definition_len = nul ? (size_t)(nul - data) : size;
    struct em_status st = {0};
    struct ps_proto_schema *schema = NULL;
    enum em_code code = ps_proto_parse((const char *)data, definition_len, &schema, &st);
    expect_refusal_said_why(code, &st);
    if (code != EM_OK) {
        if (schema)
            abort(); /* a refused definition yields no schema */
        return 0;
    }
    if (nul) {
        const uint8_t *msg = nul + 1;
        size_t msg_len = size - definition_len - 1;
        struct em_status json_st = {0}, binary_st = {0};
        expect_refusal_said_why(ps_proto_check_json(schema, msg, msg_len, &json_st), &json_st);
        expect_refusal_said_why(ps_proto_check_binary(schema, msg, msg_len, &binary_st),
                                &binary_st);
    }
    ps_proto_free(schema);
    return 0;
}
