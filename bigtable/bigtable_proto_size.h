/*
 * bigtable_proto_size: the size of a message as protobuf encodes it, for Bigtable's limits
 * on what a request may hold once serialized (a RowFilter's 4096 bytes, a column family's
 * GC rule's 500).
 */
#ifndef BIGTABLE_PROTO_SIZE_H
#define BIGTABLE_PROTO_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* The bytes of v as a varint (a negative int32 or int64, cast, takes ten). */
static inline size_t bt_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* The tag of field number (wire types included): one byte below 16, else two (below 2048). */
static inline size_t bt_tag_size(int number)
{
    return number < 16 ? 1 : 2;
}

/* A length-delimited field: tag, length, payload. */
static inline size_t bt_delimited_size(int number, size_t len)
{
    return bt_tag_size(number) + bt_varint_size(len) + len;
}

#endif
