/*
 * em_mask: splits update masks and matches their paths in either spelling (see em_mask.h).
 * No allocation: each path is copied into a bounded buffer, so a mask of any length is read
 * whole.
 */
#include "em_mask.h"

#include "em_schema.h"

#include <string.h>

enum em_code em_mask_each(const char *mask, em_mask_path_fn fn, void *arg, size_t *count,
                          struct em_status *st)
{
    size_t seen = 0;
    for (const char *p = mask ? mask : ""; *p;) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *next = *end ? end + 1 : end;
        while (p < end && *p == ' ')
            p++;
        while (end > p && end[-1] == ' ')
            end--;
        if (end > p) {
            char path[EM_MASK_PATH_MAX];
            size_t len = (size_t)(end - p) < sizeof(path) ? (size_t)(end - p) : sizeof(path) - 1;
            memcpy(path, p, len);
            path[len] = '\0';
            seen++;
            if (fn(path, arg, st)) {
                if (count)
                    *count = seen;
                return st->code;
            }
        }
        p = next;
    }
    if (count)
        *count = seen;
    return EM_OK;
}

bool em_mask_path_is(const char *path, const char *camel)
{
    char snake[EM_MASK_PATH_MAX];
    em_snake_case(camel, snake, sizeof(snake));
    return strcmp(path, camel) == 0 || strcmp(path, snake) == 0;
}
