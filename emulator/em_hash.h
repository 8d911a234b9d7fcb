/*
 * em_hash: FNV-1a (64-bit), the emulator's one non-cryptographic hash of bytes: hash
 * tables, partition tokens, request fingerprints, sampling. Not for secrets or integrity
 * (em_crypto.h has those).
 */
#ifndef EM_HASH_H
#define EM_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define EM_FNV_OFFSET 14695981039346656037ULL
#define EM_FNV_PRIME  1099511628211ULL

/* h (EM_FNV_OFFSET to start) continued over len bytes of data. */
static inline uint64_t em_fnv1a_more(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * EM_FNV_PRIME;
    return h;
}

static inline uint64_t em_fnv1a(const void *data, size_t len)
{
    return em_fnv1a_more(EM_FNV_OFFSET, data, len);
}

/* ... of a NUL-terminated string (NULL: of ""). */
static inline uint64_t em_fnv1a_str(const char *s)
{
    return s ? em_fnv1a(s, strlen(s)) : EM_FNV_OFFSET;
}

#endif
