/*
 * em_vfs: "emcrypt", a SQLite VFS shim that encrypts every page written to a database
 * file and its WAL with AES-256-GCM, and the registry of the keys it uses.
 *
 * em_store's encrypted mode is the only user: it registers a DEK, gets a key id, and
 * opens "file:<path>?emkey=<id>" with this VFS. Files that could hold plaintext pages
 * outside the database and its WAL (rollback journals, statement journals, temporary
 * databases) are refused, so an encrypted store must run in WAL mode with
 * temp_store=MEMORY (em_store does both).
 */
#ifndef EM_VFS_H
#define EM_VFS_H

#include "em_status.h"

#include <stdint.h>

#define EM_VFS_NAME     "emcrypt"
#define EM_VFS_RESERVED 32 /* bytes at the end of every page: nonce (12), tag (16), unused */

/* Registers the VFS with SQLite (idempotent, thread-safe). */
enum em_code em_vfs_init(struct em_status *st);

/* Keeps a copy of dek under a new id, used in the URI's emkey parameter. */
uint64_t em_vfs_add_key(const unsigned char dek[32]);

/* Wipes and forgets a key (after every connection using it is closed). */
void em_vfs_remove_key(uint64_t id);

#endif
