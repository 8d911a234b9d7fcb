/*
 * bigtable_cell: a cell and a row as every Bigtable file sees them (bytes are not
 * NUL-terminated). These are views: they own nothing, and whoever fills them keeps
 * the bytes alive. Shared by the filter (bigtable_filter), the garbage-collection
 * rules (bigtable_gc), the ReadRows chunker (bigtable_chunks) and the service's store.
 * Model: google/bigtable/v2/data.proto (Row, Family, Column, Cell).
 */
#ifndef BIGTABLE_CELL_H
#define BIGTABLE_CELL_H

#include <stddef.h>
#include <stdint.h>

struct bt_bytes {
    const uint8_t *data;
    size_t len;
};

struct bt_cell {
    struct bt_bytes family; /* column family name */
    struct bt_bytes qualifier;
    int64_t timestamp_micros;
    struct bt_bytes value;
    const char *label; /* set by apply_label_transformer, else NULL */
};

/* A row's cells ordered by family, qualifier (bytes ascending), timestamp descending. */
struct bt_row {
    struct bt_bytes key;
    const struct bt_cell *cells;
    size_t n_cells;
};

#endif
