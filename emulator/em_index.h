/*
 * em_index: a sorted array of pointers to things whose first member is `char *name`,
 * with binary search. Services keep their in-memory registries in it (KMS keys, CMEK
 * resources); iteration in name order is iteration over items[0 .. count).
 * Not thread-safe: the owner locks.
 */
#ifndef EM_INDEX_H
#define EM_INDEX_H

#include <stdbool.h>
#include <stddef.h>

struct em_index {
    void **items;
    size_t count, cap;
};

/* The position of the first item whose name is >= name. */
size_t em_index_lower_bound(const struct em_index *index, const char *name);

/* The item named name, or NULL. */
void *em_index_find(const struct em_index *index, const char *name);

/* Inserts item at its place; false when out of memory. Names must be unique. */
bool em_index_insert(struct em_index *index, void *item);

/* Takes out and returns the item named name, or NULL. */
void *em_index_remove(struct em_index *index, const char *name);

/* Frees the array (not the items). */
void em_index_release(struct em_index *index);

#endif
