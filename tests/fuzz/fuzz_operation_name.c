/*
 * fuzz_operation_name: arbitrary bytes into em_op_name_parse, the one parser of client
 * input in em_operations. It must never read past the text or overflow its outputs, and
 * whatever it accepts must put back together: parent + "/operations/" + id is the name,
 * the id uses only [A-Za-z0-9_.-], and the parts fit the buffers given (small ones too).
 */
#include "em_operations.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(const char *name, size_t parent_len)
{
    char parent[EM_OP_NAME_MAX + 1], id[EM_OP_ID_MAX + 1];
    struct em_status st = {0};
    if (em_op_name_parse(name, parent, parent_len, id, sizeof(id), &st) != EM_OK) {
        if (st.code != EM_INVALID_ARGUMENT)
            abort();
        return;
    }
    if (strlen(parent) >= parent_len ||
        strspn(id, "abcdefghijklmnopqrstuvwxyz"
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(id))
        abort();
    char joined[2 * EM_OP_NAME_MAX + 16];
    snprintf(joined, sizeof(joined), "%s/operations/%s", parent, id);
    if (strcmp(joined, name) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *name = malloc(size + 1);
    if (!name)
        return 0;
    memcpy(name, data, size);
    name[size] = '\0';
    check(name, EM_OP_NAME_MAX + 1);
    check(name, 8);
    free(name);
    return 0;
}
