/*
 * kms_descriptor: Cloud KMS as the emulator knows it (see em_descriptor.h): bin/kms on
 * port base + 1, its predefined roles and its Logging resource types. Data only.
 * Roles: https://cloud.google.com/iam/docs/roles-permissions/cloudkms
 */
#include "em_descriptor.h"

static const struct em_role kms_roles[] = {
    {"roles/cloudkms.admin",
     EM_WORDS("cloudkms.keyRings.*", "cloudkms.cryptoKeys.*", "cloudkms.importJobs.*",
              "cloudkms.locations.get", "cloudkms.locations.list", "cloudkms.operations.get",
              "cloudkms.cryptoKeyVersions.create", "cloudkms.cryptoKeyVersions.get",
              "cloudkms.cryptoKeyVersions.list", "cloudkms.cryptoKeyVersions.update",
              "cloudkms.cryptoKeyVersions.destroy", "cloudkms.cryptoKeyVersions.restore",
              "resourcemanager.projects.get"),
     NULL},
    {"roles/cloudkms.viewer",
     EM_WORDS("cloudkms.*.get", "cloudkms.*.list", "resourcemanager.projects.get"), NULL},
    {"roles/cloudkms.cryptoKeyEncrypterDecrypter",
     EM_WORDS("cloudkms.cryptoKeyVersions.useToEncrypt", "cloudkms.cryptoKeyVersions.useToDecrypt",
              "cloudkms.locations.get", "cloudkms.locations.list", "resourcemanager.projects.get"),
     NULL},
    {"roles/cloudkms.cryptoKeyEncrypter",
     EM_WORDS("cloudkms.cryptoKeyVersions.useToEncrypt", "cloudkms.locations.get",
              "cloudkms.locations.list", "resourcemanager.projects.get"),
     NULL},
    {"roles/cloudkms.cryptoKeyDecrypter",
     EM_WORDS("cloudkms.cryptoKeyVersions.useToDecrypt", "cloudkms.locations.get",
              "cloudkms.locations.list", "resourcemanager.projects.get"),
     NULL},
    {"roles/cloudkms.signer",
     EM_WORDS("cloudkms.cryptoKeyVersions.useToSign", "cloudkms.locations.get",
              "cloudkms.locations.list", "resourcemanager.projects.get"),
     NULL},
    {"roles/cloudkms.signerVerifier",
     EM_WORDS("cloudkms.cryptoKeyVersions.useToSign", "cloudkms.cryptoKeyVersions.useToVerify",
              "cloudkms.cryptoKeyVersions.viewPublicKey", "cloudkms.locations.get",
              "cloudkms.locations.list", "resourcemanager.projects.get"),
     NULL},
    {"roles/cloudkms.publicKeyViewer",
     EM_WORDS("cloudkms.cryptoKeyVersions.viewPublicKey", "cloudkms.locations.get",
              "cloudkms.locations.list", "resourcemanager.projects.get"),
     NULL},
    {"roles/cloudkms.importer",
     EM_WORDS("cloudkms.importJobs.get", "cloudkms.importJobs.list",
              "cloudkms.importJobs.useToImport", "cloudkms.locations.get",
              "cloudkms.locations.list", "resourcemanager.projects.get"),
     NULL},
    {"roles/cloudkms.cryptoOperator",
     EM_WORDS("cloudkms.cryptoKeyVersions.useTo*", "cloudkms.cryptoKeyVersions.viewPublicKey",
              "cloudkms.locations.*", "resourcemanager.projects.get"),
     NULL},
    {NULL},
};

static const struct em_resource_type kms_resource_types[] = {
    {"cloudkms_keyring", EM_WORDS("projects", "locations", "keyRings"),
     EM_WORDS("project_id", "location", "key_ring_id")},
    {"cloudkms_cryptokey", EM_WORDS("projects", "locations", "keyRings", "cryptoKeys"),
     EM_WORDS("project_id", "location", "key_ring_id", "crypto_key_id")},
    {"cloudkms_importjob", EM_WORDS("projects", "locations", "keyRings", "importJobs"),
     EM_WORDS("project_id", "location", "key_ring_id", "import_job_id")},
    {"cloudkms_cryptokeyversion",
     EM_WORDS("projects", "locations", "keyRings", "cryptoKeys", "cryptoKeyVersions"),
     EM_WORDS("project_id", "location", "key_ring_id", "crypto_key_id", "crypto_key_version_id")},
    {NULL},
};

/* KMS protects no resource with a customer key, so it has no service agent here. */
const struct em_service_desc kms_descriptor = {
    .name = "kms",
    .product = "Cloud KMS",
    .port = 1,
    .google_service = "cloudkms.googleapis.com",
    .roles = kms_roles,
    .resource_types = kms_resource_types,
};
