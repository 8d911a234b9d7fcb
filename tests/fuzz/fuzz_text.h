/*
 * fuzz_text: a fuzz input as a NUL-terminated string (malloc'd; NULL without memory), for
 * the targets that read text. An input holding a NUL is then read up to it.
 */
#ifndef FUZZ_TEXT_H
#define FUZZ_TEXT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline char *fuzz_text(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text) {
        memcpy(text, data, size);
        text[size] = '\0';
    }
    return text;
}

#endif
