/*
 * spanner_farmhash: FarmHash's Fingerprint64, the hash behind GoogleSQL's
 * FARM_FINGERPRINT(STRING | BYTES) -> INT64. FARM_FINGERPRINT of a STRING hashes its UTF-8
 * bytes, of a BYTES value its bytes, so 'abc' and b'abc' have the same fingerprint; the
 * INT64 is the 64 bits returned here read as two's complement; FARM_FINGERPRINT(NULL) is
 * NULL (the caller's concern: there is no NULL here).
 *
 * A fingerprint never changes across versions or hosts (it is stored and compared), so the
 * function is fixed: farmhash's "na" Hash64 (google/farmhash, src/farmhash.cc, namespace
 * farmhashna), bytes read little-endian whatever the host. Pure: no state, safe from any
 * thread, any alignment of data.
 *
 * Reference: https://cloud.google.com/spanner/docs/reference/standard-sql/hash_functions
 * (FARM_FINGERPRINT).
 */
#ifndef SPANNER_FARMHASH_H
#define SPANNER_FARMHASH_H

#include <stddef.h>
#include <stdint.h>

/* Fingerprint64 of the len bytes at data (data may be NULL when len is 0). */
uint64_t sp_farm_fingerprint64(const void *data, size_t len);

#endif
