/*
 * em_index: sorted pointer arrays with binary search by name (see em_index.h).
 */
#include "em_index.h"

#include <stdlib.h>
#include <string.h>

struct named {
    char *name;
};

static const char *name_at(const struct em_index *index, size_t i)
{
    return ((const struct named *)index->items[i])->name;
}

size_t em_index_lower_bound(const struct em_index *index, const char *name)
{
    size_t lo = 0, hi = index->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(name_at(index, mid), name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void *em_index_find(const struct em_index *index, const char *name)
{
    size_t i = em_index_lower_bound(index, name);
    return i < index->count && strcmp(name_at(index, i), name) == 0 ? index->items[i] : NULL;
}

bool em_index_insert(struct em_index *index, void *item)
{
    if (index->count == index->cap) {
        size_t cap = index->cap ? index->cap * 2 : 64;
        void **grown = realloc(index->items, cap * sizeof(void *));
        if (!grown)
            return false;
        index->items = grown;
        index->cap = cap;
    }
    size_t i = em_index_lower_bound(index, ((struct named *)item)->name);
    memmove(&index->items[i + 1], &index->items[i], (index->count - i) * sizeof(void *));
    index->items[i] = item;
    index->count++;
    return true;
}

void *em_index_remove(struct em_index *index, const char *name)
{
    size_t i = em_index_lower_bound(index, name);
    if (i >= index->count || strcmp(name_at(index, i), name) != 0)
        return NULL;
    void *item = index->items[i];
    memmove(&index->items[i], &index->items[i + 1], (index->count - i - 1) * sizeof(void *));
    index->count--;
    return item;
}

void em_index_release(struct em_index *index)
{
    free(index->items);
    memset(index, 0, sizeof(*index));
}
