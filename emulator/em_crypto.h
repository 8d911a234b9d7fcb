/*
 * em_crypto: the symmetric primitives the emulator is built on, over OpenSSL EVP, and
 * the one place OpenSSL errors are mapped to em_code.
 *
 * Sealed blob format (AES-256-GCM), used for key material at rest, KEKs and DEKs:
 *
 *   nonce (12 bytes, random) || ciphertext (same length as plaintext) || tag (16 bytes)
 *
 * The additional authenticated data binds a blob to what it belongs to (a key version
 * name, a resource name), so a blob copied elsewhere does not open.
 */
#ifndef EM_CRYPTO_H
#define EM_CRYPTO_H

#include "em_status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EM_AES_KEY_BYTES   32
#define EM_GCM_NONCE_BYTES 12
#define EM_GCM_TAG_BYTES   16
#define EM_SEAL_OVERHEAD   (EM_GCM_NONCE_BYTES + EM_GCM_TAG_BYTES)

/* CRC32C (Castagnoli), as Cloud KMS uses for its integrity fields. */
uint32_t em_crc32c(const void *data, size_t len);

/* Cryptographically secure random bytes. */
enum em_code em_random_bytes(void *out, size_t len, struct em_status *st);

/* Makes OpenSSL's process-wide state (its error strings, its random generators) on the
 * calling thread: a process calls it on its main thread before starting any other. Made
 * lazily instead, by whichever thread first drew random bytes, a thread that later ended,
 * part of it was left to that thread's exit and reported as a leak by LeakSanitizer. */
enum em_code em_crypto_init(struct em_status *st);

/* A fresh random AES-GCM nonce (EM_GCM_NONCE_BYTES): the same random bytes as
 * em_random_bytes, drawn from OpenSSL a few kilobytes at a time into a buffer of the
 * calling thread, since one RAND_bytes call costs more than encrypting a database page.
 * Nonces are public (stored next to their ciphertext), so a buffer of them is no secret;
 * the processes never fork without exec, so no two processes share one. */
enum em_code em_random_nonce(unsigned char nonce[EM_GCM_NONCE_BYTES], struct em_status *st);

/* Seals plaintext into out (plaintext_len + EM_SEAL_OVERHEAD bytes). */
enum em_code em_seal(const unsigned char key[EM_AES_KEY_BYTES], const void *aad, size_t aad_len,
                     const void *plaintext, size_t plaintext_len, unsigned char *out,
                     struct em_status *st);

/* Opens a sealed blob into out (blob_len - EM_SEAL_OVERHEAD bytes). Returns false when
 * the blob is malformed or fails authentication; never sets a status (callers word the
 * error for their API). */
bool em_open(const unsigned char key[EM_AES_KEY_BYTES], const void *aad, size_t aad_len,
             const unsigned char *blob, size_t blob_len, unsigned char *out);

/* AES-256-GCM with the nonce and tag kept apart from the ciphertext (page encryption
 * stores them in each page's reserved bytes). out may equal in. */
enum em_code em_gcm_encrypt(const unsigned char key[EM_AES_KEY_BYTES],
                            const unsigned char nonce[EM_GCM_NONCE_BYTES], const void *aad,
                            size_t aad_len, const unsigned char *in, size_t len, unsigned char *out,
                            unsigned char tag[EM_GCM_TAG_BYTES], struct em_status *st);
bool em_gcm_decrypt(const unsigned char key[EM_AES_KEY_BYTES],
                    const unsigned char nonce[EM_GCM_NONCE_BYTES], const void *aad, size_t aad_len,
                    const unsigned char *in, size_t len, unsigned char *out,
                    const unsigned char tag[EM_GCM_TAG_BYTES]);

/* Loads the 32-byte secret key kept in the file at path, creating it (random, mode 0600)
 * on first use. A key file that other users can read is refused (FAILED_PRECONDITION). */
enum em_code em_key_file(const char *path, unsigned char key[EM_AES_KEY_BYTES],
                         struct em_status *st);

/* Wipes secrets (never optimised away). */
void em_wipe(void *secret, size_t len);

/* Logs the pending OpenSSL errors and sets st to INTERNAL naming what failed. */
enum em_code em_crypto_error(const char *what, struct em_status *st);

#endif
