/*
 * kms_autokey: Cloud KMS Autokey's records and rules (AutokeyAdmin and Autokey in
 * google/cloud/kms/v1): the Autokey configuration of folders, and the key handles of
 * resource projects. Who calls what:
 *
 *   UpdateAutokeyConfig  folders/F/autokeyConfig -> key project K   (kms_autokey_config_set)
 *   CreateKeyHandle      projects/P/locations/L/keyHandles/H, for a resource type T:
 *                        the handlers reserve H, find P's nearest folder with a config
 *                        (Resource Manager's ancestry of P), create key ring "autokey"
 *                        and a key named kms_autokey_key_id() in K at L, then save H
 *                        (kms_autokey_handle_save) with that key's name.
 *
 * Tables (module "kms_autokey" in schema_migrations; this file owns their SQL):
 *   autokey_configs(folder, key_project, etag): a folder without a row is UNINITIALIZED
 *   key_handles(name, kms_key, resource_type_selector, create_ns): Google has no method
 *     to delete a key handle; a reset clears them.
 * A handle being created is reserved in memory only (a restart ends its operation with
 * ABORTED, and the reservation with it).
 */
#ifndef KMS_AUTOKEY_H
#define KMS_AUTOKEY_H

#include "em_call.h"
#include "em_status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct em_store;
struct kms_autokey;

#define KMS_FOLDER_ID_MAX     24  /* folder IDs are decimal numbers */
#define KMS_PROJECT_NAME_MAX  48  /* "projects/<project ID>" */
#define KMS_SELECTOR_MAX      128 /* "<service>.googleapis.com/<Type>" */
#define KMS_AUTOKEY_RING      "autokey"
#define KMS_AUTOKEY_ROTATION  (365LL * 86400 * 1000000000LL)
#define KMS_AUTOKEY_ETAG_SIZE 24

struct kms_autokey_config {
    char folder[KMS_FOLDER_ID_MAX];
    char key_project[KMS_PROJECT_NAME_MAX]; /* "projects/<id>"; "" when UNINITIALIZED */
    char etag[KMS_AUTOKEY_ETAG_SIZE];       /* "" when UNINITIALIZED */
};

struct kms_key_handle {
    char name[EM_RESOURCE_MAX];
    char kms_key[EM_RESOURCE_MAX];
    char resource_type_selector[KMS_SELECTOR_MAX];
};

enum em_code kms_autokey_open(struct em_store *store, struct kms_autokey **out,
                              struct em_status *st);
void kms_autokey_close(struct kms_autokey *ak);
/* Forgets every configuration and handle (the emulator's reset). */
enum em_code kms_autokey_reset(struct kms_autokey *ak, struct em_status *st);

/* --- rules (pure) --- */

/* A folder ID: 1 to 20 decimal digits. INVALID_ARGUMENT otherwise. */
enum em_code kms_autokey_check_folder(const char *folder, struct em_status *st);
/* A key project, "projects/<project ID>"; "" (clears the configuration) is accepted. */
enum em_code kms_autokey_check_key_project(const char *key_project, struct em_status *st);
/* "<service>.googleapis.com/<Type>": service lowercase letters and digits, Type
 * UpperCamelCase letters and digits. */
enum em_code kms_autokey_check_selector(const char *selector, struct em_status *st);
/* The ID of the key Autokey creates for a resource of project number `number`:
 * "<number>-<service>-<type in lowercase>-<16 hex digits of suffix>", as Google names
 * them ("123456789012-compute-disk-ac103725a174885c"), the middle part cut so the ID fits
 * the 63 characters of a CryptoKey ID. */
void kms_autokey_key_id(int64_t number, const char *selector, uint64_t suffix, char *out,
                        size_t len);

/* --- configurations --- */

/* The folder's configuration; key_project "" when it has none. */
enum em_code kms_autokey_config_get(struct kms_autokey *ak, const char *folder,
                                    struct kms_autokey_config *out, struct em_status *st);
/* Sets (key_project "" clears) the folder's key project. etag (NULL or "": none) must be
 * the current one, else ABORTED. *out is the configuration now. */
enum em_code kms_autokey_config_set(struct kms_autokey *ak, const char *folder,
                                    const char *key_project, const char *etag,
                                    struct kms_autokey_config *out, struct em_status *st);

/* --- key handles --- */

/* Reserves a new handle's name: ALREADY_EXISTS when a handle of that name exists or is
 * being created. */
enum em_code kms_autokey_handle_reserve(struct kms_autokey *ak, const char *name,
                                        struct em_status *st);
/* Ends a reservation that did not produce a handle. */
void kms_autokey_handle_release(struct kms_autokey *ak, const char *name);
/* Saves a reserved handle and ends its reservation. */
enum em_code kms_autokey_handle_save(struct kms_autokey *ak, const struct kms_key_handle *handle,
                                     int64_t now, struct em_status *st);
/* NOT_FOUND "KeyHandle <name> not found." */
enum em_code kms_autokey_handle_get(struct kms_autokey *ak, const char *name,
                                    struct kms_key_handle *out, struct em_status *st);
/* The handles of a location ("projects/p/locations/l"), by name. */
struct kms_key_handle_list {
    struct kms_key_handle *items;
    size_t count;
};
enum em_code kms_autokey_handle_list(struct kms_autokey *ak, const char *parent,
                                     struct kms_key_handle_list *out, struct em_status *st);
void kms_autokey_handle_list_free(struct kms_key_handle_list *list);

#endif
