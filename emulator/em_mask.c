/*
 * em_mask: splits update masks and matches their paths in either spelling (see em_mask.h).
 * No allocation: each path is copied into a bounded buffer, so a mask of any length is read
 * whole.
 */
#include "em_mask.h"

#include "em_schema.h"

#include <stdio.h>
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

struct selection {
    const char *mask_field;
    const struct em_message *msg;
    const cJSON *json;
    cJSON *out;
};

/* The field of msg that a path's first segment names, or NULL. */
static const struct em_field *first_segment_field(const struct em_message *msg, const char *path)
{
    char segment[EM_MASK_PATH_MAX];
    snprintf(segment, sizeof(segment), "%.*s", (int)strcspn(path, "."), path);
    for (const struct em_field *f = msg->fields; f->name; f++)
        if (em_mask_path_is(segment, f->name))
            return f;
    return NULL;
}

static enum em_code select_path(const char *path, void *arg, struct em_status *st)
{
    struct selection *s = arg;
    const struct em_field *f = first_segment_field(s->msg, path);
    if (!f) {
        const char *type = strrchr(s->msg->type_name, '.');
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid %s: %s has no field \"%.100s\".",
                       s->mask_field, type ? type + 1 : s->msg->type_name, path);
    }
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(s->json, f->name);
    if (value && !cJSON_HasObjectItem(s->out, f->name) &&
        !cJSON_AddItemToObject(s->out, f->name, cJSON_Duplicate(value, true)))
        return EM_FAIL_OOM(st);
    return EM_OK;
}

enum em_code em_mask_select(const char *mask, const char *mask_field, const struct em_message *msg,
                            const cJSON *json, cJSON **out, struct em_status *st)
{
    struct selection s = {mask_field, msg, json, cJSON_CreateObject()};
    size_t paths = 0;
    *out = NULL;
    if (!s.out)
        return EM_FAIL_OOM(st);
    if (em_mask_each(mask, select_path, &s, &paths, st)) {
        cJSON_Delete(s.out);
        return st->code;
    }
    if (paths == 0) {
        cJSON_Delete(s.out);
        s.out = cJSON_Duplicate(json, true);
    }
    *out = s.out;
    return EM_OK;
}
