/*
 * em_vfs: the "emcrypt" VFS (see em_vfs.h): page encryption for SQLite files.
 *
 * Layout of an encrypted page of P bytes (the database is created with 32 reserved
 * bytes per page, which SQLite never writes: they are zeros in every clear page, and
 * reads give zeros back):
 *
 *   [ encrypted content: P - 32 bytes ][ nonce: 12 ][ GCM tag: 16 ][ unused: 4 ]
 *
 * Page 1 of the database file keeps its first 100 bytes (the SQLite header: page size,
 * counters, no customer data) in clear so SQLite can read them before knowing anything;
 * the rest of page 1 is encrypted like any page. In the WAL, the 32-byte header and the
 * 24-byte frame headers are clear and every frame's page is encrypted whole. A fresh
 * random nonce is used for every page written.
 *
 * I/O shapes accepted (everything SQLite does in WAL mode); anything else fails with an
 * I/O error rather than ever writing a clear page:
 *   database: reads within the 100-byte header; whole-page reads and writes at page
 *             boundaries;
 *   WAL:      header and frame-header reads/writes; whole-page content reads/writes;
 *             whole-frame reads (recovery).
 * Memory-mapped reads are disabled (they would bypass decryption).
 */
#include "em_vfs.h"

#include "em_crypto.h"
#include "em_log.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define DB_HEADER      100
#define WAL_HEADER     32
#define FRAME_HEADER   24
#define NONCE_AT(p, n) ((p) + (n)-EM_VFS_RESERVED)
#define TAG_AT(p, n)   ((p) + (n)-EM_VFS_RESERVED + EM_GCM_NONCE_BYTES)

/* --- key registry --- */

struct key_slot {
    uint64_t id;
    unsigned char dek[EM_AES_KEY_BYTES];
    struct key_slot *next;
};

static pthread_mutex_t keys_lock = PTHREAD_MUTEX_INITIALIZER;
static struct key_slot *keys;
static uint64_t next_key_id = 1;

uint64_t em_vfs_add_key(const unsigned char dek[32])
{
    struct key_slot *slot = calloc(1, sizeof(*slot));
    if (!slot)
        return 0;
    memcpy(slot->dek, dek, EM_AES_KEY_BYTES);
    pthread_mutex_lock(&keys_lock);
    slot->id = next_key_id++;
    slot->next = keys;
    keys = slot;
    pthread_mutex_unlock(&keys_lock);
    return slot->id;
}

void em_vfs_remove_key(uint64_t id)
{
    pthread_mutex_lock(&keys_lock);
    for (struct key_slot **p = &keys; *p; p = &(*p)->next) {
        if ((*p)->id == id) {
            struct key_slot *slot = *p;
            *p = slot->next;
            em_wipe(slot->dek, sizeof(slot->dek));
            free(slot);
            break;
        }
    }
    pthread_mutex_unlock(&keys_lock);
}

static bool copy_key(uint64_t id, unsigned char dek[EM_AES_KEY_BYTES])
{
    bool found = false;
    pthread_mutex_lock(&keys_lock);
    for (struct key_slot *s = keys; s && !found; s = s->next) {
        if (s->id == id) {
            memcpy(dek, s->dek, EM_AES_KEY_BYTES);
            found = true;
        }
    }
    pthread_mutex_unlock(&keys_lock);
    return found;
}

/* --- page encryption --- */

enum file_kind { KIND_DB, KIND_WAL };

struct crypt_file {
    sqlite3_file base;
    enum file_kind kind;
    unsigned char dek[EM_AES_KEY_BYTES];
    int wal_page_size;  /* WAL: from its header; 0 until known */
    sqlite3_file *real; /* the underlying file, allocated right after this struct */
    /* WAL: the frames of a transaction, held back (pages encrypted) until its commit
     * frame, to go out in one write: [held_off, held_off + held_len) of the file */
    unsigned char *held;
    size_t held_len, held_cap;
    sqlite3_int64 held_off;
    bool held_commit; /* the last frame header held is a commit frame's */
};

static bool page_size_valid(int n)
{
    return n >= 512 && n <= 65536 && (n & (n - 1)) == 0;
}

/* Encrypts page[skip .. n - reserved) in place and fills the nonce and tag. */
static int encrypt_page(const struct crypt_file *cf, unsigned char *page, int n, int skip)
{
    struct em_status st = {0};
    unsigned char *nonce = NONCE_AT(page, n);
    if (em_random_nonce(nonce, &st) ||
        em_gcm_encrypt(cf->dek, nonce, NULL, 0, page + skip, (size_t)(n - EM_VFS_RESERVED - skip),
                       page + skip, TAG_AT(page, n), &st))
        return SQLITE_IOERR_WRITE;
    return SQLITE_OK;
}

/* Decrypts in place. The reserved bytes come back as SQLite left them, zeros: the WAL's
 * frame checksums cover the whole page, reserved bytes included. */
static int decrypt_page(const struct crypt_file *cf, unsigned char *page, int n, int skip)
{
    if (em_gcm_decrypt(cf->dek, NONCE_AT(page, n), NULL, 0, page + skip,
                       (size_t)(n - EM_VFS_RESERVED - skip), page + skip, TAG_AT(page, n))) {
        memset(page + n - EM_VFS_RESERVED, 0, EM_VFS_RESERVED);
        return SQLITE_OK;
    }
    em_error("emcrypt: a page does not decrypt with this store's key (wrong key or damage)");
    return SQLITE_IOERR_DATA;
}

/* --- database files --- */

static bool is_page_io(int amt, sqlite3_int64 off)
{
    return page_size_valid(amt) && off % amt == 0;
}

static int db_read(struct crypt_file *cf, unsigned char *buf, int amt, sqlite3_int64 off)
{
    int rc = cf->real->pMethods->xRead(cf->real, buf, amt, off);
    if (rc != SQLITE_OK || off + amt <= DB_HEADER)
        return rc; /* short reads come back zero-filled: nothing to decrypt */
    if (!is_page_io(amt, off))
        return SQLITE_IOERR_READ;
    return decrypt_page(cf, buf, amt, off == 0 ? DB_HEADER : 0);
}

static int db_write(struct crypt_file *cf, const unsigned char *buf, int amt, sqlite3_int64 off)
{
    if (!is_page_io(amt, off))
        return SQLITE_IOERR_WRITE;
    if (off == 0 && buf[20] != EM_VFS_RESERVED) {
        em_error("emcrypt: refusing a database without %d reserved bytes per page",
                 EM_VFS_RESERVED);
        return SQLITE_IOERR_WRITE;
    }
    unsigned char *page = malloc((size_t)amt);
    if (!page)
        return SQLITE_IOERR_NOMEM;
    memcpy(page, buf, (size_t)amt);
    int rc = encrypt_page(cf, page, amt, off == 0 ? DB_HEADER : 0);
    if (rc == SQLITE_OK)
        rc = cf->real->pMethods->xWrite(cf->real, page, amt, off);
    free(page);
    return rc;
}

/* --- WAL files --- */

static int be32(const unsigned char *p)
{
    return (int)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

/* The WAL's page size, read from its header the first time it is needed. */
static int wal_page_size(struct crypt_file *cf)
{
    if (cf->wal_page_size == 0) {
        unsigned char header[WAL_HEADER];
        if (cf->real->pMethods->xRead(cf->real, header, WAL_HEADER, 0) == SQLITE_OK &&
            page_size_valid(be32(header + 8)))
            cf->wal_page_size = be32(header + 8);
    }
    return cf->wal_page_size;
}

/* Encrypts or decrypts, in buf, every frame page that [off, off + amt) covers. */
static int wal_transform(struct crypt_file *cf, unsigned char *buf, int amt, sqlite3_int64 off,
                         bool encrypt)
{
    if (off + amt <= WAL_HEADER)
        return SQLITE_OK;
    int page = wal_page_size(cf);
    if (page == 0)
        return encrypt ? SQLITE_IOERR_WRITE : SQLITE_IOERR_READ;
    sqlite3_int64 frame = FRAME_HEADER + page, end = off + amt;
    sqlite3_int64 k = off < WAL_HEADER ? 0 : (off - WAL_HEADER) / frame;
    for (;; k++) {
        sqlite3_int64 start = WAL_HEADER + k * frame + FRAME_HEADER;
        if (start >= end)
            break;
        if (start + page <= off)
            continue;
        if (start < off || start + page > end) /* a part of a page: never done by SQLite */
            return encrypt ? SQLITE_IOERR_WRITE : SQLITE_IOERR_READ;
        unsigned char *p = buf + (start - off);
        int rc = encrypt ? encrypt_page(cf, p, page, 0) : decrypt_page(cf, p, page, 0);
        if (rc != SQLITE_OK)
            return rc;
    }
    return SQLITE_OK;
}

/* Held frames. SQLite writes a WAL frame as two writes, its 24-byte header then its
 * page, and a transaction as its frames one after the other, the last one marked as the
 * commit frame (a database size in its header). They are held back, pages encrypted, and
 * go out in one write when the commit frame's page arrives, or earlier when the next one
 * would make the write longer than HOLD_MAX (SQLite's unix VFS writes at most 128 KiB - 1
 * bytes in one call; a frame is at most 64 KiB + 24). Any other use of the file (a read,
 * a write elsewhere, sync, truncate, size, close) writes what is held first, so nothing
 * ever sees it missing; and a commit returns only once its frames are written, as
 * without holding (kill -9 safe). */
#define HOLD_MAX (128 * 1024 - 1)

static int flush_held(struct crypt_file *cf)
{
    if (cf->held_len == 0)
        return SQLITE_OK;
    size_t len = cf->held_len;
    cf->held_len = 0;
    cf->held_commit = false;
    return cf->real->pMethods->xWrite(cf->real, cf->held, (int)len, cf->held_off);
}

static bool is_frame_header(int amt, sqlite3_int64 off)
{
    return amt == FRAME_HEADER && off >= WAL_HEADER;
}

/* Appends a write that continues the held bytes (or starts them with a frame header),
 * its pages encrypted. */
static int hold(struct crypt_file *cf, const unsigned char *buf, int amt, sqlite3_int64 off)
{
    if (cf->held_len + (size_t)amt > cf->held_cap) {
        size_t cap = cf->held_cap ? cf->held_cap : 2 * (FRAME_HEADER + 4096);
        while (cap < cf->held_len + (size_t)amt)
            cap *= 2;
        unsigned char *grown = realloc(cf->held, cap);
        if (!grown)
            return SQLITE_IOERR_NOMEM;
        cf->held = grown;
        cf->held_cap = cap;
    }
    if (cf->held_len == 0)
        cf->held_off = off;
    unsigned char *at = cf->held + cf->held_len;
    memcpy(at, buf, (size_t)amt);
    int rc = wal_transform(cf, at, amt, off, true);
    if (rc != SQLITE_OK)
        return rc; /* nothing counted as held: the clear page is overwritten next time */
    cf->held_len += (size_t)amt;
    if (is_frame_header(amt, off))
        cf->held_commit = be32(buf + 4) != 0;
    else if (cf->held_commit)
        return flush_held(cf);
    return SQLITE_OK;
}

/* A write that does not continue a frame: encrypted in a copy and written at once. */
static int write_through(struct crypt_file *cf, const unsigned char *buf, int amt,
                         sqlite3_int64 off)
{
    unsigned char *copy = malloc((size_t)amt);
    if (!copy)
        return SQLITE_IOERR_NOMEM;
    memcpy(copy, buf, (size_t)amt);
    int rc = wal_transform(cf, copy, amt, off, true);
    if (rc == SQLITE_OK)
        rc = cf->real->pMethods->xWrite(cf->real, copy, amt, off);
    free(copy);
    return rc;
}

static int wal_read(struct crypt_file *cf, unsigned char *buf, int amt, sqlite3_int64 off)
{
    int rc = flush_held(cf);
    if (rc == SQLITE_OK)
        rc = cf->real->pMethods->xRead(cf->real, buf, amt, off);
    if (rc != SQLITE_OK)
        return rc;
    return wal_transform(cf, buf, amt, off, false);
}

static int wal_write(struct crypt_file *cf, const unsigned char *buf, int amt, sqlite3_int64 off)
{
    if (off == 0 && amt >= 12 && page_size_valid(be32(buf + 8)))
        cf->wal_page_size = be32(buf + 8);
    bool continues = cf->held_len > 0 && off == cf->held_off + (sqlite3_int64)cf->held_len &&
                     cf->held_len + (size_t)amt <= HOLD_MAX;
    if (!continues) {
        int rc = flush_held(cf);
        if (rc != SQLITE_OK)
            return rc;
    }
    if (continues || is_frame_header(amt, off))
        return hold(cf, buf, amt, off);
    return write_through(cf, buf, amt, off);
}

/* --- sqlite3_io_methods: reads and writes transformed, the rest passed through --- */

#define CF(f)   ((struct crypt_file *)(f))
#define REAL(f) (CF(f)->real)

static int io_close(sqlite3_file *f)
{
    flush_held(CF(f));
    free(CF(f)->held);
    int rc = REAL(f)->pMethods->xClose(REAL(f));
    em_wipe(CF(f)->dek, sizeof(CF(f)->dek));
    return rc;
}

static int io_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
    return CF(f)->kind == KIND_DB ? db_read(CF(f), buf, amt, off) : wal_read(CF(f), buf, amt, off);
}

static int io_write(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off)
{
    return CF(f)->kind == KIND_DB ? db_write(CF(f), buf, amt, off)
                                  : wal_write(CF(f), buf, amt, off);
}

static int io_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    int rc = flush_held(CF(f));
    if (rc != SQLITE_OK)
        return rc;
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int io_sync(sqlite3_file *f, int flags)
{
    int rc = flush_held(CF(f));
    if (rc != SQLITE_OK)
        return rc;
    return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int io_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    int rc = flush_held(CF(f));
    if (rc != SQLITE_OK)
        return rc;
    return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int io_lock(sqlite3_file *f, int level)
{
    return REAL(f)->pMethods->xLock(REAL(f), level);
}

static int io_unlock(sqlite3_file *f, int level)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), level);
}

static int io_check_reserved(sqlite3_file *f, int *out)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int io_file_control(sqlite3_file *f, int op, void *arg)
{
    if (op == SQLITE_FCNTL_MMAP_SIZE) { /* memory-mapped reads would bypass decryption */
        *(sqlite3_int64 *)arg = 0;
        return SQLITE_OK;
    }
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int io_sector_size(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int io_device_characteristics(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int io_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **pp)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), region, size, extend, pp);
}

static int io_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}

static void io_shm_barrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int io_shm_unmap(sqlite3_file *f, int delete_flag)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), delete_flag);
}

static int io_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **pp)
{
    (void)f, (void)off, (void)amt;
    *pp = NULL; /* never map pages: SQLite falls back to io_read */
    return SQLITE_OK;
}

static int io_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    (void)f, (void)off, (void)p;
    return SQLITE_OK;
}

static const sqlite3_io_methods crypt_io = {
    3,
    io_close,
    io_read,
    io_write,
    io_truncate,
    io_sync,
    io_file_size,
    io_lock,
    io_unlock,
    io_check_reserved,
    io_file_control,
    io_sector_size,
    io_device_characteristics,
    io_shm_map,
    io_shm_lock,
    io_shm_barrier,
    io_shm_unmap,
    io_fetch,
    io_unfetch,
};

/* --- the VFS --- */

static sqlite3_vfs *base_vfs;
static sqlite3_vfs crypt_vfs;

static int vfs_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
                    int *out_flags)
{
    (void)vfs;
    struct crypt_file *cf = CF(f);
    memset(cf, 0, sizeof(*cf));
    if (!(flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL))) {
        em_error("emcrypt: refusing to open a journal or temporary file (flags 0x%x): it "
                 "would hold pages in clear",
                 flags);
        return SQLITE_CANTOPEN;
    }
    const char *id_text = name ? sqlite3_uri_parameter(name, "emkey") : NULL;
    if (!id_text || !copy_key(strtoull(id_text, NULL, 10), cf->dek)) {
        em_error("emcrypt: no key registered for %s", name ? name : "(temporary file)");
        return SQLITE_CANTOPEN;
    }
    cf->kind = (flags & SQLITE_OPEN_WAL) ? KIND_WAL : KIND_DB;
    cf->real = (sqlite3_file *)(cf + 1);
    int rc = base_vfs->xOpen(base_vfs, name, cf->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        em_wipe(cf->dek, sizeof(cf->dek));
        return rc;
    }
    cf->base.pMethods = &crypt_io;
    return SQLITE_OK;
}

static int vfs_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    (void)vfs;
    return base_vfs->xDelete(base_vfs, name, sync_dir);
}

static int vfs_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    (void)vfs;
    return base_vfs->xAccess(base_vfs, name, flags, out);
}

static int vfs_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    (void)vfs;
    return base_vfs->xFullPathname(base_vfs, name, n, out);
}

static int vfs_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return base_vfs->xRandomness(base_vfs, n, out);
}

static int vfs_sleep(sqlite3_vfs *vfs, int microseconds)
{
    (void)vfs;
    return base_vfs->xSleep(base_vfs, microseconds);
}

static int vfs_current_time(sqlite3_vfs *vfs, double *out)
{
    (void)vfs;
    return base_vfs->xCurrentTime(base_vfs, out);
}

static int vfs_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return base_vfs->xGetLastError(base_vfs, n, out);
}

static int vfs_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    (void)vfs;
    return base_vfs->xCurrentTimeInt64(base_vfs, out);
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc = SQLITE_ERROR;

static void register_vfs(void)
{
    base_vfs = sqlite3_vfs_find(NULL);
    if (!base_vfs)
        return;
    crypt_vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(struct crypt_file) + base_vfs->szOsFile,
        .mxPathname = base_vfs->mxPathname,
        .zName = EM_VFS_NAME,
        .xOpen = vfs_open,
        .xDelete = vfs_delete,
        .xAccess = vfs_access,
        .xFullPathname = vfs_full_pathname,
        .xRandomness = vfs_randomness,
        .xSleep = vfs_sleep,
        .xCurrentTime = vfs_current_time,
        .xGetLastError = vfs_last_error,
        .xCurrentTimeInt64 = vfs_current_time64,
    };
    init_rc = sqlite3_vfs_register(&crypt_vfs, 0);
}

enum em_code em_vfs_init(struct em_status *st)
{
    pthread_once(&init_once, register_vfs);
    if (init_rc != SQLITE_OK)
        return EM_FAIL(st, EM_INTERNAL, "cannot register the emcrypt SQLite VFS");
    return EM_OK;
}
