/*
 * emulator-produce: a producer of seed 002's envelope messages. It reads messages (one
 * per line of standard input, or --message), and publishes each to a Pub/Sub topic of the
 * emulator either envelope-encrypted (AES-256-GCM under a data key, the key wrapped by
 * Cloud KMS :encrypt and sent in attributes kms_keyname and dek_wrapped) or HMAC-signed
 * (--sign: attributes kms_key, sign_key_wrapped, signature). The format is the one
 * DecryptEnvelope and VerifySignature read (runner/runner_envelope.h).
 *
 * A producer makes a fresh key when it starts and rotates it every --rotate-messages
 * messages or --rotate-seconds seconds (wall clock), whichever comes first, wrapping each
 * new key once through KMS. It calls KMS and Pub/Sub over REST like any client (the
 * principal of --principal as its bearer token, no internal credential). --print writes
 * the publish request bodies to standard output instead of publishing them, one JSON
 * object a line: messages made now, published later (with curl) stay readable only while
 * their key is.
 *
 *   bin/emulator-produce --topic projects/p/topics/words \
 *       --key projects/p/locations/global/keyRings/r/cryptoKeys/producer-a < lines.txt
 */
#include "runner/runner_envelope.h"

#include "em_crypto.h"
#include "em_descriptor.h"
#include "em_json.h"
#include "em_rest.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ATTRIBUTES_MAX 16
#define LINE_MAX_BYTES (1024 * 1024)

struct options {
    const char *topic, *key, *principal, *host;
    int port_base;
    bool sign, print;
    long rotate_messages, rotate_seconds, batch;
    const char *attributes[ATTRIBUTES_MAX]; /* "name=value" */
    int attribute_count;
    const char *messages[64]; /* --message, else standard input */
    int message_count;
};

struct producer {
    const struct options *opt;
    char kms_base[256], pubsub_base[256];
    unsigned char key[EM_AES_KEY_BYTES];
    char *wrapped_b64; /* the current key as KMS wrapped it; NULL before the first */
    long key_uses;
    time_t key_made;
    int keys_made;
    cJSON *batch; /* messages waiting to be published */
    long published;
};

static void usage(FILE *out)
{
    fprintf(out, "usage: emulator-produce --topic projects/P/topics/T "
                 "--key projects/P/locations/L/keyRings/R/cryptoKeys/K\n"
                 "         [--sign] [--rotate-messages N (1000)] [--rotate-seconds S (300)]\n"
                 "         [--attribute NAME=VALUE]... [--message TEXT]... [--batch N (100)]\n"
                 "         [--port-base N ($EMULATOR_PORT_BASE, 8790)] [--host H (127.0.0.1)]\n"
                 "         [--principal user:alice@example.com] [--print]\n"
                 "Publishes each --message, or each line of standard input, envelope-encrypted\n"
                 "(or HMAC-signed with --sign) under a data key wrapped by the KMS key.\n");
}

static bool parse_long(const char *text, long min, long max, long *out)
{
    char *end;
    long n = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || n < min || n > max)
        return false;
    *out = n;
    return true;
}

static bool parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longs[] = {
        {"topic", 1, 0, 't'},          {"key", 1, 0, 'k'},
        {"sign", 0, 0, 's'},           {"rotate-messages", 1, 0, 'n'},
        {"rotate-seconds", 1, 0, 'r'}, {"attribute", 1, 0, 'a'},
        {"message", 1, 0, 'm'},        {"batch", 1, 0, 'b'},
        {"port-base", 1, 0, 'p'},      {"host", 1, 0, 'H'},
        {"principal", 1, 0, 'P'},      {"print", 0, 0, 'x'},
        {"help", 0, 0, 'h'},           {0, 0, 0, 0}};
    const char *env_base = getenv("EMULATOR_PORT_BASE");
    long base = 8790;
    *o = (struct options){
        .host = "127.0.0.1", .rotate_messages = 1000, .rotate_seconds = 300, .batch = 100};
    if (env_base && !parse_long(env_base, 1, 65000, &base))
        return false;
    int c;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        bool ok = true;
        switch (c) {
        case 't':
            o->topic = optarg;
            break;
        case 'k':
            o->key = optarg;
            break;
        case 's':
            o->sign = true;
            break;
        case 'x':
            o->print = true;
            break;
        case 'H':
            o->host = optarg;
            break;
        case 'P':
            o->principal = optarg;
            break;
        case 'n':
            ok = parse_long(optarg, 1, 1000000000, &o->rotate_messages);
            break;
        case 'r':
            ok = parse_long(optarg, 1, 86400 * 366, &o->rotate_seconds);
            break;
        case 'b':
            ok = parse_long(optarg, 1, 1000, &o->batch);
            break;
        case 'p':
            ok = parse_long(optarg, 1, 65000, &base);
            break;
        case 'a':
            ok = o->attribute_count < ATTRIBUTES_MAX && strchr(optarg, '=') > optarg;
            if (ok)
                o->attributes[o->attribute_count++] = optarg;
            break;
        case 'm':
            ok = o->message_count < 64;
            if (ok)
                o->messages[o->message_count++] = optarg;
            break;
        default:
            return false;
        }
        if (!ok)
            return false;
    }
    o->port_base = (int)base;
    return o->topic && o->key && optind == argc;
}

/* One REST call; the reply's JSON (owned) or NULL with the reason printed. */
static cJSON *call(const char *base, const char *name, const char *verb, const cJSON *body,
                   const char *principal)
{
    struct em_rest_url url;
    em_rest_url_init(&url, base);
    em_rest_url_segment(&url, "v1");
    em_rest_url_name(&url, name);
    em_rest_url_verb(&url, verb);
    struct em_rest_request req = {.method = "POST",
                                  .url = em_rest_url_text(&url),
                                  .json = body,
                                  .principal = principal,
                                  .connect_retry_ms = 2000};
    struct em_rest_reply r = {0};
    em_rest_call(&req, &r);
    cJSON *json = NULL;
    if (r.status.code)
        fprintf(stderr, "emulator-produce: %s:%s failed: %s\n", name, verb, r.status.message);
    else if (!(json = r.json))
        json = cJSON_CreateObject();
    r.json = NULL;
    em_rest_reply_clear(&r);
    return json;
}

/* A fresh data (or signing) key, wrapped by the KMS key. */
static bool new_key(struct producer *p)
{
    struct em_status st = {0};
    if (em_random_bytes(p->key, sizeof(p->key), &st))
        return false;
    cJSON *body = cJSON_CreateObject();
    em_json_add_bytes(body, "plaintext", p->key, sizeof(p->key));
    cJSON *reply = call(p->kms_base, p->opt->key, "encrypt", body, p->opt->principal);
    cJSON_Delete(body);
    const char *wrapped = em_json_string(reply, "ciphertext");
    free(p->wrapped_b64);
    p->wrapped_b64 = wrapped ? strdup(wrapped) : NULL;
    cJSON_Delete(reply);
    p->key_uses = 0;
    p->key_made = time(NULL);
    p->keys_made++;
    return p->wrapped_b64 != NULL;
}

static bool key_due(const struct producer *p)
{
    return !p->wrapped_b64 || p->key_uses >= p->opt->rotate_messages ||
           time(NULL) - p->key_made >= p->opt->rotate_seconds;
}

static cJSON *attributes_of(const struct producer *p)
{
    cJSON *attrs = cJSON_CreateObject();
    for (int i = 0; i < p->opt->attribute_count; i++) {
        const char *eq = strchr(p->opt->attributes[i], '=');
        char name[256];
        snprintf(name, sizeof(name), "%.*s", (int)(eq - p->opt->attributes[i]),
                 p->opt->attributes[i]);
        cJSON_AddStringToObject(attrs, name, eq + 1);
    }
    bool sign = p->opt->sign;
    cJSON_AddStringToObject(attrs, sign ? "kms_key" : "kms_keyname", p->opt->key);
    cJSON_AddStringToObject(attrs, sign ? "sign_key_wrapped" : "dek_wrapped", p->wrapped_b64);
    return attrs;
}

/* The PubsubMessage of one text: sealed under the key, or signed with it. */
static cJSON *message_of(const struct producer *p, const char *text)
{
    size_t len = strlen(text);
    cJSON *msg = cJSON_CreateObject(), *attrs = attributes_of(p);
    if (p->opt->sign) {
        unsigned char sig[RN_HMAC_BYTES];
        rn_signature_make(p->key, text, len, sig);
        em_json_add_bytes(msg, "data", (const unsigned char *)text, len);
        em_json_add_bytes(attrs, "signature", sig, sizeof(sig));
    } else {
        struct em_status st = {0};
        unsigned char *sealed = malloc(len + EM_SEAL_OVERHEAD);
        if (!sealed || em_seal(p->key, NULL, 0, text, len, sealed, &st)) {
            free(sealed);
            cJSON_Delete(msg);
            cJSON_Delete(attrs);
            return NULL;
        }
        em_json_add_bytes(msg, "data", sealed, len + EM_SEAL_OVERHEAD);
        free(sealed);
    }
    cJSON_AddItemToObject(msg, "attributes", attrs);
    return msg;
}

static bool flush(struct producer *p)
{
    int n = cJSON_GetArraySize(p->batch);
    if (n == 0)
        return true;
    cJSON *body = cJSON_CreateObject();
    cJSON_AddItemToObject(body, "messages", p->batch);
    p->batch = cJSON_CreateArray();
    bool ok = true;
    if (p->opt->print) {
        char *text = cJSON_PrintUnformatted(body);
        ok = text && printf("%s\n", text) > 0;
        free(text);
    } else {
        cJSON *reply = call(p->pubsub_base, p->opt->topic, "publish", body, p->opt->principal);
        ok = reply != NULL;
        cJSON_Delete(reply);
    }
    cJSON_Delete(body);
    p->published += ok ? n : 0;
    return ok;
}

static bool produce(struct producer *p, const char *text)
{
    if (key_due(p) && (!flush(p) || !new_key(p)))
        return false;
    cJSON *msg = message_of(p, text);
    if (!msg)
        return false;
    cJSON_AddItemToArray(p->batch, msg);
    p->key_uses++;
    return cJSON_GetArraySize(p->batch) < p->opt->batch || flush(p);
}

static bool produce_stdin(struct producer *p)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    bool ok = true;
    while (ok && (len = getline(&line, &cap, stdin)) >= 0) {
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        ok = len < LINE_MAX_BYTES && produce(p, line);
    }
    free(line);
    return ok;
}

int main(int argc, char **argv)
{
    struct options opt;
    if (!parse_options(argc, argv, &opt)) {
        usage(stderr);
        return 2;
    }
    struct producer p = {.opt = &opt, .batch = cJSON_CreateArray()};
    snprintf(p.kms_base, sizeof(p.kms_base), "http://%s:%d", opt.host,
             opt.port_base + em_service_desc_find("kms")->port);
    snprintf(p.pubsub_base, sizeof(p.pubsub_base), "http://%s:%d", opt.host,
             opt.port_base + em_service_desc_find("pubsub")->port);
    bool ok = true;
    for (int i = 0; ok && i < opt.message_count; i++)
        ok = produce(&p, opt.messages[i]);
    if (ok && opt.message_count == 0)
        ok = produce_stdin(&p);
    ok = ok && flush(&p);
    em_wipe(p.key, sizeof(p.key));
    free(p.wrapped_b64);
    cJSON_Delete(p.batch);
    em_rest_thread_release();
    fprintf(stderr, "emulator-produce: %s %ld messages to %s with %d key%s\n",
            opt.print ? "printed" : "published", p.published, opt.topic, p.keys_made,
            p.keys_made == 1 ? "" : "s");
    return ok ? 0 : 1;
}
