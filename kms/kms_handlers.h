/*
 * kms_handlers: one function per Cloud KMS REST method (see kms_routes.c).
 */
#ifndef KMS_HANDLERS_H
#define KMS_HANDLERS_H

#include "em_call.h"

enum em_code kms_list_locations(struct em_call *call);
enum em_code kms_get_location(struct em_call *call);
enum em_code kms_generate_random_bytes(struct em_call *call);
enum em_code kms_get_operation(struct em_call *call);

enum em_code kms_create_key_ring(struct em_call *call);
enum em_code kms_get_key_ring(struct em_call *call);
enum em_code kms_list_key_rings(struct em_call *call);

enum em_code kms_create_crypto_key(struct em_call *call);
enum em_code kms_get_crypto_key(struct em_call *call);
enum em_code kms_list_crypto_keys(struct em_call *call);
enum em_code kms_update_crypto_key(struct em_call *call);
enum em_code kms_update_primary_version(struct em_call *call);
enum em_code kms_encrypt_call(struct em_call *call);
enum em_code kms_decrypt_call(struct em_call *call);
enum em_code kms_raw_encrypt_call(struct em_call *call);
enum em_code kms_raw_decrypt_call(struct em_call *call);

enum em_code kms_create_version(struct em_call *call);
enum em_code kms_get_version(struct em_call *call);
enum em_code kms_list_versions(struct em_call *call);
enum em_code kms_update_version(struct em_call *call);
enum em_code kms_destroy_version(struct em_call *call);
enum em_code kms_restore_version(struct em_call *call);
enum em_code kms_get_public_key(struct em_call *call);
enum em_code kms_asymmetric_sign_call(struct em_call *call);
enum em_code kms_asymmetric_decrypt_call(struct em_call *call);
enum em_code kms_mac_sign_call(struct em_call *call);
enum em_code kms_mac_verify_call(struct em_call *call);

enum em_code kms_create_import_job(struct em_call *call);
enum em_code kms_get_import_job(struct em_call *call);
enum em_code kms_list_import_jobs(struct em_call *call);
enum em_code kms_import_version(struct em_call *call);

/* IAM on key rings, crypto keys and import jobs (the generic em_iam_handle_* methods):
 * NOT_FOUND when the resource of the path does not exist. */
enum em_code kms_iam_resource_check(struct em_call *call);

#endif
