/*
 * fuzz_pubsub_avro: Avro schemas and messages into pubsub_avro.
 *
 * Input: one selector byte (bit 0 clear: the message is JSON encoded, set: binary), then the
 * schema definition up to the first '\n', then the message (any bytes, NULs included). With
 * no '\n' the whole rest is the schema. Parsing, checking and freeing must never crash, leak,
 * overflow the stack or take long; a failure must come back as INVALID_ARGUMENT with a
 * message (or INTERNAL when memory runs out), and a failed parse hands back no schema.
 */
#include "pubsub/pubsub_avro.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_status(enum em_code code, const struct em_status *st)
{
    if (code == EM_OK)
        return;
    if ((code != EM_INVALID_ARGUMENT && code != EM_INTERNAL) || st->code != code ||
        st->message[0] == '\0')
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool binary = data[0] & 1;
    const char *definition = (const char *)data + 1;
    const uint8_t *newline = memchr(data + 1, '\n', size - 1);
    size_t definition_len = newline ? (size_t)(newline - data) - 1 : size - 1;
    const uint8_t *msg = newline ? newline + 1 : data + size;
    size_t msg_len = (size_t)(data + size - msg);

    struct em_status st = {0};
    struct ps_avro_schema *schema = NULL;
    enum em_code code = ps_avro_parse(definition, definition_len, &schema, &st);
    check_status(code, &st);
    if (code != EM_OK) {
        if (schema != NULL)
            abort();
        return 0;
    }
    /* the message buffer is copied so reads past its end are caught */
    uint8_t *copy = malloc(msg_len ? msg_len : 1);
    if (copy) {
        memcpy(copy, msg, msg_len);
        code = binary ? ps_avro_check_binary(schema, copy, msg_len, &st)
                      : ps_avro_check_json(schema, copy, msg_len, &st);
        check_status(code, &st);
        free(copy);
    }
    ps_avro_free(schema);
    return 0;
}
