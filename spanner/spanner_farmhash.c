/*
 * spanner_farmhash: FarmHash Fingerprint64 (see spanner_farmhash.h), written from the
 * algorithm of farmhash's "na" Hash64. Four paths by length:
 *
 *   0 to 16 bytes    the first, middle and last byte (1 to 3), or 32 or 64 bits from
 *                    each end (4 to 16), and one mix
 *   17 to 32         the first 16 and the last 16 bytes, one mix
 *   33 to 64         the first 32 and the last 32 bytes, two mixes
 *   over 64          a 56-byte state (x, y, z and the pairs v, w) folded over each 64-byte
 *                    block, then over the last 64 bytes (which may overlap the block
 *                    before), then mixed down to 64 bits
 *
 * The length enters every path, so inputs that differ only in trailing zero bytes differ.
 * Arithmetic is on uint64_t only (wrapping is the point), and loads go through memcpy, so
 * the function is defined for any input at any address.
 */
#include "spanner_farmhash.h"

#include <string.h>

/* farmhash's three odd 64-bit constants */
#define K0 UINT64_C(0xc3a5c85c97cb3127)
#define K1 UINT64_C(0xb492b66fbe98f273)
#define K2 UINT64_C(0x9ae16a3b2f90404f)

/* Two 64-bit halves of an intermediate 128-bit hash. */
struct pair {
    uint64_t lo;
    uint64_t hi;
};

/* The state of the over-64 path between blocks. */
struct block_state {
    uint64_t x, y, z;
    struct pair v, w;
};

static uint64_t load64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static uint64_t load32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

/* Rotate right by bits; both shifts are masked, so neither is ever 64 (bits 0 gives v). */
static uint64_t rotate_right(uint64_t v, unsigned bits)
{
    return (v >> (bits & 63)) | (v << ((64 - bits) & 63));
}

static uint64_t shift_mix(uint64_t v)
{
    return v ^ (v >> 47);
}

/* Murmur-style mix of 128 bits (u, v) down to 64, with the length-dependent factor mul
 * (farmhash's HashLen16 with three arguments). */
static uint64_t mix128(uint64_t u, uint64_t v, uint64_t mul)
{
    uint64_t a = shift_mix((u ^ v) * mul);
    uint64_t b = shift_mix((v ^ a) * mul);
    return b * mul;
}

/* The factor every path of up to 64 bytes multiplies by. */
static uint64_t length_mul(size_t len)
{
    return K2 + (uint64_t)len * 2;
}

static uint64_t hash_0_to_16(const unsigned char *s, size_t len)
{
    if (len >= 8) {
        uint64_t mul = length_mul(len);
        uint64_t a = load64(s) + K2;
        uint64_t b = load64(s + len - 8);
        uint64_t c = rotate_right(b, 37) * mul + a;
        uint64_t d = (rotate_right(a, 25) + b) * mul;
        return mix128(c, d, mul);
    }
    if (len >= 4) {
        uint64_t first = load32(s);
        return mix128((uint64_t)len + (first << 3), load32(s + len - 4), length_mul(len));
    }
    if (len > 0) {
        /* first, middle and last byte (the same byte more than once when len < 3) */
        uint64_t y = (uint64_t)s[0] + ((uint64_t)s[len / 2] << 8);
        uint64_t z = (uint64_t)len + ((uint64_t)s[len - 1] << 2);
        return shift_mix(y * K2 ^ z * K0) * K2;
    }
    return K2;
}

static uint64_t hash_17_to_32(const unsigned char *s, size_t len)
{
    uint64_t mul = length_mul(len);
    uint64_t a = load64(s) * K1;
    uint64_t b = load64(s + 8);
    uint64_t c = load64(s + len - 8) * mul;
    uint64_t d = load64(s + len - 16) * K2;
    return mix128(rotate_right(a + b, 43) + rotate_right(c, 30) + d,
                  a + rotate_right(b + K2, 18) + c, mul);
}

static uint64_t hash_33_to_64(const unsigned char *s, size_t len)
{
    uint64_t mul = length_mul(len);
    /* the first and last 16 bytes, as for 17 to 32 */
    uint64_t a = load64(s) * K2;
    uint64_t b = load64(s + 8);
    uint64_t c = load64(s + len - 8) * mul;
    uint64_t d = load64(s + len - 16) * K2;
    uint64_t y = rotate_right(a + b, 43) + rotate_right(c, 30) + d;
    uint64_t z = mix128(y, a + rotate_right(b + K2, 18) + c, mul);
    /* then the next 16 from each end, seeded with those */
    uint64_t e = load64(s + 16) * mul;
    uint64_t f = load64(s + 24);
    uint64_t g = (y + load64(s + len - 32)) * mul;
    uint64_t h = (z + load64(s + len - 24)) * mul;
    return mix128(rotate_right(e + f, 43) + rotate_right(g, 30) + h,
                  e + rotate_right(f + a, 18) + g, mul);
}

/* A quick 128-bit hash of the 32 bytes at p with the seeds a and b (farmhash's
 * WeakHashLen32WithSeeds). */
static struct pair weak_hash_32(const unsigned char *p, uint64_t a, uint64_t b)
{
    uint64_t w = load64(p), x = load64(p + 8), y = load64(p + 16), z = load64(p + 24);
    a += w;
    b = rotate_right(b + a + z, 21);
    uint64_t c = a;
    a += x + y;
    b += rotate_right(a, 44);
    return (struct pair){a + z, b + c};
}

/* Fold the 64 bytes at p into st: mul is K1 for the whole blocks, and a factor of the
 * state for the last 64 bytes, whose fold also weighs v.lo and w.hi by 9. */
static void fold_block(struct block_state *st, const unsigned char *p, uint64_t mul,
                       uint64_t weight)
{
    st->x = rotate_right(st->x + st->y + st->v.lo + load64(p + 8), 37) * mul;
    st->y = rotate_right(st->y + st->v.hi + load64(p + 48), 42) * mul;
    st->x ^= st->w.hi * weight;
    st->y += st->v.lo * weight + load64(p + 40);
    st->z = rotate_right(st->z + st->w.lo, 33) * mul;
    st->v = weak_hash_32(p, st->v.hi * mul, st->x + st->w.lo);
    st->w = weak_hash_32(p + 32, st->z + st->w.hi, st->y + load64(p + 16));
    uint64_t swap = st->z;
    st->z = st->x;
    st->x = swap;
}

static uint64_t hash_over_64(const unsigned char *s, size_t len)
{
    const uint64_t seed = 81;
    struct block_state st = {0};
    st.x = seed * K2 + load64(s);
    st.y = seed * K1 + 113;
    st.z = shift_mix(st.y * K2 + 113) * K2;

    /* whole blocks up to the one that leaves 1 to 64 bytes (len > 64: at least one) */
    const unsigned char *end = s + (len - 1) / 64 * 64;
    for (const unsigned char *p = s; p != end; p += 64)
        fold_block(&st, p, K1, 1);

    /* the last 64 bytes, overlapping the last whole block unless len is a multiple of 64 */
    uint64_t mul = K1 + ((st.z & 0xff) << 1);
    st.w.lo += (uint64_t)((len - 1) & 63);
    st.v.lo += st.w.lo;
    st.w.lo += st.v.lo;
    fold_block(&st, s + len - 64, mul, 9);

    return mix128(mix128(st.v.lo, st.w.lo, mul) + shift_mix(st.y) * K0 + st.z,
                  mix128(st.v.hi, st.w.hi, mul) + st.x, mul);
}

uint64_t sp_farm_fingerprint64(const void *data, size_t len)
{
    const unsigned char *s = data;
    if (len <= 16)
        return hash_0_to_16(s, len);
    if (len <= 32)
        return hash_17_to_32(s, len);
    if (len <= 64)
        return hash_33_to_64(s, len);
    return hash_over_64(s, len);
}
