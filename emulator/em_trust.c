/*
 * em_trust: the internal credential (see em_trust.h). One credential per process, held
 * in memory as the header line clients send; verification compares in constant time.
 */
#include "em_trust.h"

#include "em_crypto.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define HEX_LEN (2 * EM_AES_KEY_BYTES)

static pthread_rwlock_t trust_lock = PTHREAD_RWLOCK_INITIALIZER;
static bool loaded;
static char hex[HEX_LEN + 1];
static char header_line[sizeof(EM_TRUST_HEADER) + 2 + HEX_LEN];

enum em_code em_trust_open(const char *data_dir, struct em_status *st)
{
    char path[PATH_MAX + 32];
    unsigned char key[EM_AES_KEY_BYTES];
    snprintf(path, sizeof(path), "%s/%s", data_dir, EM_TRUST_FILE_NAME);
    if (em_key_file(path, key, st))
        return st->code;
    pthread_rwlock_wrlock(&trust_lock);
    for (size_t i = 0; i < sizeof(key); i++)
        snprintf(hex + 2 * i, 3, "%02x", key[i]);
    snprintf(header_line, sizeof(header_line), "%s: %s", EM_TRUST_HEADER, hex);
    loaded = true;
    pthread_rwlock_unlock(&trust_lock);
    em_wipe(key, sizeof(key));
    return EM_OK;
}

const char *em_trust_header_line(void)
{
    pthread_rwlock_rdlock(&trust_lock);
    const char *line = loaded ? header_line : NULL;
    pthread_rwlock_unlock(&trust_lock);
    return line;
}

bool em_trust_verify(const char *presented)
{
    if (!presented || strlen(presented) != HEX_LEN)
        return false;
    pthread_rwlock_rdlock(&trust_lock);
    bool ok = loaded && CRYPTO_memcmp(presented, hex, HEX_LEN) == 0;
    pthread_rwlock_unlock(&trust_lock);
    return ok;
}
