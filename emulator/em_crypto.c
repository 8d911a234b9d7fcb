/*
 * em_crypto: CRC32C, random bytes and AES-256-GCM sealing (see em_crypto.h).
 * The AES-GCM cipher is fetched once (OpenSSL 3's implicit fetch per call is slow).
 */
#include "em_crypto.h"

#include "em_log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- CRC32C: hardware instruction when the CPU has SSE4.2, else a table --- */

static uint32_t crc_table[256];
static bool crc_hardware;
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[i] = c;
    }
#if defined(__x86_64__)
    crc_hardware = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t crc_software(uint32_t crc, const unsigned char *p, size_t len)
{
    while (len--)
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const unsigned char *p,
                                                         size_t len)
{
    uint64_t c = crc;
    while (len >= 8) {
        uint64_t word;
        __builtin_memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (len--)
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
#endif

uint32_t em_crc32c(const void *data, size_t len)
{
    pthread_once(&crc_once, crc_init);
    uint32_t crc = 0xFFFFFFFFu;
#if defined(__x86_64__)
    if (crc_hardware)
        return ~crc_hw(crc, data, len);
#endif
    return ~crc_software(crc, data, len);
}

/* --- errors and random --- */

enum em_code em_crypto_error(const char *what, struct em_status *st)
{
    unsigned long err;
    char text[256];
    while ((err = ERR_get_error()) != 0) {
        ERR_error_string_n(err, text, sizeof(text));
        em_error("openssl: %s: %s", what, text);
    }
    return EM_FAIL(st, EM_INTERNAL, "Internal cryptographic error (%s).", what);
}

enum em_code em_random_bytes(void *out, size_t len, struct em_status *st)
{
    if (len > 0 && RAND_bytes(out, (int)len) != 1)
        return em_crypto_error("random bytes", st);
    return EM_OK;
}

enum em_code em_crypto_init(struct em_status *st)
{
    unsigned char byte;
    if (OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL) != 1 ||
        RAND_bytes(&byte, 1) != 1 || RAND_priv_bytes(&byte, 1) != 1)
        return em_crypto_error("initialisation", st);
    return EM_OK;
}

#define NONCE_POOL_BYTES (EM_GCM_NONCE_BYTES * 341) /* ~4 KiB: one RAND_bytes per 341 nonces */

static __thread unsigned char nonce_pool[NONCE_POOL_BYTES];
static __thread size_t nonce_pool_left; /* unused bytes at the pool's end */

enum em_code em_random_nonce(unsigned char nonce[EM_GCM_NONCE_BYTES], struct em_status *st)
{
    if (nonce_pool_left < EM_GCM_NONCE_BYTES) {
        if (em_random_bytes(nonce_pool, sizeof(nonce_pool), st))
            return st->code;
        nonce_pool_left = sizeof(nonce_pool);
    }
    unsigned char *next = nonce_pool + sizeof(nonce_pool) - nonce_pool_left;
    memcpy(nonce, next, EM_GCM_NONCE_BYTES);
    memset(next, 0, EM_GCM_NONCE_BYTES); /* each nonce is handed out once */
    nonce_pool_left -= EM_GCM_NONCE_BYTES;
    return EM_OK;
}

void em_wipe(void *secret, size_t len)
{
    if (secret)
        OPENSSL_cleanse(secret, len);
}

/* --- AES-256-GCM --- */

static EVP_CIPHER *gcm_cipher;
static pthread_once_t gcm_once = PTHREAD_ONCE_INIT;

static void gcm_init(void)
{
    gcm_cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

static const EVP_CIPHER *gcm(void)
{
    pthread_once(&gcm_once, gcm_init);
    return gcm_cipher;
}

enum em_code em_gcm_encrypt(const unsigned char key[EM_AES_KEY_BYTES],
                            const unsigned char nonce[EM_GCM_NONCE_BYTES], const void *aad,
                            size_t aad_len, const unsigned char *in, size_t len, unsigned char *out,
                            unsigned char tag[EM_GCM_TAG_BYTES], struct em_status *st)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, ok = ctx && EVP_EncryptInit_ex2(ctx, gcm(), key, nonce, NULL);
    if (ok && aad_len)
        ok = EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aad_len);
    if (ok && len)
        ok = EVP_EncryptUpdate(ctx, out, &n, in, (int)len);
    if (ok)
        ok = EVP_EncryptFinal_ex(ctx, out + n, &n);
    if (ok)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, EM_GCM_TAG_BYTES, tag);
    EVP_CIPHER_CTX_free(ctx);
    return ok ? EM_OK : em_crypto_error("AES-GCM encryption", st);
}

bool em_gcm_decrypt(const unsigned char key[EM_AES_KEY_BYTES],
                    const unsigned char nonce[EM_GCM_NONCE_BYTES], const void *aad, size_t aad_len,
                    const unsigned char *in, size_t len, unsigned char *out,
                    const unsigned char tag[EM_GCM_TAG_BYTES])
{
    unsigned char tag_copy[EM_GCM_TAG_BYTES];
    memcpy(tag_copy, tag, sizeof(tag_copy));
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, ok = ctx && EVP_DecryptInit_ex2(ctx, gcm(), key, nonce, NULL);
    if (ok && aad_len)
        ok = EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aad_len);
    if (ok && len)
        ok = EVP_DecryptUpdate(ctx, out, &n, in, (int)len);
    if (ok)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, EM_GCM_TAG_BYTES, tag_copy);
    if (ok)
        ok = EVP_DecryptFinal_ex(ctx, out + n, &n) > 0;
    EVP_CIPHER_CTX_free(ctx);
    ERR_clear_error();
    if (!ok)
        em_wipe(out, len);
    return ok;
}

enum em_code em_seal(const unsigned char key[EM_AES_KEY_BYTES], const void *aad, size_t aad_len,
                     const void *plaintext, size_t plaintext_len, unsigned char *out,
                     struct em_status *st)
{
    unsigned char *nonce = out;
    unsigned char *body = out + EM_GCM_NONCE_BYTES;
    if (em_random_nonce(nonce, st))
        return st->code;
    return em_gcm_encrypt(key, nonce, aad, aad_len, plaintext, plaintext_len, body,
                          body + plaintext_len, st);
}

bool em_open(const unsigned char key[EM_AES_KEY_BYTES], const void *aad, size_t aad_len,
             const unsigned char *blob, size_t blob_len, unsigned char *out)
{
    if (blob_len < EM_SEAL_OVERHEAD)
        return false;
    size_t body_len = blob_len - EM_SEAL_OVERHEAD;
    const unsigned char *body = blob + EM_GCM_NONCE_BYTES;
    return em_gcm_decrypt(key, blob, aad, aad_len, body, body_len, out, body + body_len);
}

/* --- key files --- */

/* Writes a fresh key into a temporary file next to path and links it to path: the file
 * appears complete or not at all, so a process starting at the same time never reads a
 * half-written key. EM_ABORTED when path exists already. */
static enum em_code create_key_file(const char *path, unsigned char key[EM_AES_KEY_BYTES],
                                    struct em_status *st)
{
    if (em_random_bytes(key, EM_AES_KEY_BYTES, st))
        return st->code;
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
        return EM_FAIL(st, EM_INTERNAL, "key file path too long: %s", path);
    int fd = mkstemp(tmp); /* mode 0600 */
    if (fd < 0)
        return EM_FAIL(st, EM_INTERNAL, "cannot create %s: %s", tmp, strerror(errno));
    bool ok = write(fd, key, EM_AES_KEY_BYTES) == EM_AES_KEY_BYTES && fsync(fd) == 0;
    close(fd);
    int linked = ok ? link(tmp, path) : -1;
    int saved = errno;
    unlink(tmp);
    if (!ok)
        return EM_FAIL(st, EM_INTERNAL, "cannot write %s", tmp);
    if (linked != 0)
        return saved == EEXIST
                   ? EM_ABORTED
                   : EM_FAIL(st, EM_INTERNAL, "cannot create %s: %s", path, strerror(saved));
    em_info("created key file %s", path);
    return EM_OK;
}

static enum em_code read_key_file(const char *path, unsigned char key[EM_AES_KEY_BYTES],
                                  struct em_status *st)
{
    struct stat sb;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return EM_FAIL(st, EM_INTERNAL, "cannot open %s: %s", path, strerror(errno));
    bool ok = fstat(fd, &sb) == 0 && sb.st_size == EM_AES_KEY_BYTES &&
              read(fd, key, EM_AES_KEY_BYTES) == EM_AES_KEY_BYTES;
    close(fd);
    if (!ok)
        return EM_FAIL(st, EM_DATA_LOSS, "%s is not a %d-byte key file", path, EM_AES_KEY_BYTES);
    if (sb.st_mode & 077)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "%s is readable by other users (mode %o); run: chmod 600 %s", path,
                       (unsigned)(sb.st_mode & 0777), path);
    return EM_OK;
}

enum em_code em_key_file(const char *path, unsigned char key[EM_AES_KEY_BYTES],
                         struct em_status *st)
{
    if (access(path, F_OK) == 0) /* the usual case: no temporary file written and synced */
        return read_key_file(path, key, st);
    enum em_code code = create_key_file(path, key, st);
    if (code == EM_ABORTED) /* it exists already (made by a concurrent start) */
        code = read_key_file(path, key, st);
    return code;
}
