/*
 * bigtable_replicas: each cluster keeps its own replica of each table (DESIGN section 3:
 * "a Bigtable cluster replica of a table" is the protected resource). A replica is named
 *     projects/p/instances/i/clusters/c/tables/t
 * under the service's CMEK engine, protected with its cluster's key (Google default
 * encryption when the cluster has none), and its cells live in its own encrypted file
 * <data dir>/bigtable/<sha256 of the name>.db (em_datastore: the file opens only through
 * the engine's gate, one writer thread runs every job on it; bigtable_cells.c holds its
 * SQL).
 *
 *   (none) --protect (KMS wraps the KEK)--> protected --shred--> gone (keys and file)
 *   protected: the engine's states (ACCESSIBLE, GRACE, OFFLINE, INACCESSIBLE) gate every
 *   open; OFFLINE and INACCESSIBLE close the file (state_changed hook).
 *
 * The registry keeps one em_datastore per replica, made on first use (also after a
 * restart, when the engine already knows the replica). Thread-safe.
 */
#ifndef BIGTABLE_REPLICAS_H
#define BIGTABLE_REPLICAS_H

#include "em_cmek.h"
#include "em_status.h"

#include <stdint.h>

#define BT_NAME_MAX 512

struct em_datafile;
struct bt_replicas;

/* cmek may be NULL here and set once the engine is open (the engine's state hook is
 * bt_replicas_state_changed on this registry). */
enum em_code bt_replicas_open(struct em_cmek *cmek, const char *data_dir, struct bt_replicas **out,
                              struct em_status *st);
void bt_replicas_set_engine(struct bt_replicas *reps, struct em_cmek *cmek);
/* Closes every file (the data stays). */
void bt_replicas_close(struct bt_replicas *reps);

/* "projects/p/instances/i/clusters/c/tables/t" from a table's name and a cluster id. */
void bt_replica_name(const char *table, const char *cluster_id, char out[BT_NAME_MAX]);

/* A new replica: KMS must accept kms_key (NULL: Google default encryption). */
enum em_code bt_replicas_protect(struct bt_replicas *reps, const char *replica, const char *project,
                                 const char *kms_key, struct em_status *st);
/* Crypto-shredding: keys forgotten, file removed. Unknown replicas are fine. */
enum em_code bt_replicas_shred(struct bt_replicas *reps, const char *replica, struct em_status *st);

/* The gate and the open file (release with em_datafile_put): the engine's error when the
 * replica's key is not usable. */
enum em_code bt_replicas_open_file(struct bt_replicas *reps, const char *replica,
                                   struct em_datafile **out, struct em_status *st);
/* The gate alone. */
enum em_code bt_replicas_gate(struct bt_replicas *reps, const char *replica, struct em_status *st);

/* The CMEK engine's snapshot of a replica; false when unknown (or no engine). */
bool bt_replicas_info(struct bt_replicas *reps, const char *replica, struct em_cmek_info *out);

/* --- backups (bigtable_backup.c): a backup's cells are a datastore of this registry too,
 * named after the backup ("projects/p/instances/i/clusters/c/backups/b") --- */

/* A new backup's protection, pinned to the primary version of kms_key now (NULL: Google
 * default encryption). */
enum em_code bt_replicas_protect_pinned(struct bt_replicas *reps, const char *name,
                                        const char *project, const char *kms_key,
                                        struct em_status *st);
/* Copies from's cells into to's file, re-encrypted under to's own keys (em_datastore_copy):
 * a table's replica into a backup, a backup into another or into a restored replica. */
enum em_code bt_replicas_copy(struct bt_replicas *reps, const char *from, const char *to,
                              struct em_status *st);
/* Asks KMS now (em_cmek_check) whether name's key version is usable, then passes its gate:
 * the engine's error otherwise. */
enum em_code bt_replicas_check_now(struct bt_replicas *reps, const char *name,
                                   struct em_status *st);
/* The size of name's file on disk, in bytes (0 when there is none). */
int64_t bt_replicas_file_size(struct bt_replicas *reps, const char *name);

/* The CMEK engine's state_changed hook (arg: the registry). */
void bt_replicas_state_changed(void *arg, const char *resource, enum em_cmek_state from,
                               enum em_cmek_state to);

#endif
