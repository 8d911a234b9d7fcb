/*
 * bigtable_chunks: rows as ReadRows streams them (google.bigtable.v2.ReadRowsResponse), both
 * ways. Storage-free.
 *
 * Writer: each cell becomes a CellChunk; rowKey is set on a row's first chunk only,
 * familyName when the family changes (with qualifier), qualifier when the column changes,
 * timestampMicros and labels on a cell's first chunk; a value longer than value_split is
 * cut into pieces, every piece but the last carrying valueSize (the whole value's length);
 * the row's last chunk says commitRow. Rows without cells are not sent. A response holds
 * chunks until it reaches max_response_bytes of values, then the next one starts (a row may
 * span responses, as Google's may). JSON is proto3's: bytes base64, int64 as strings,
 * default values left out, familyName and qualifier (wrapper types) present even when
 * empty. Over REST the stream is one JSON array of the responses.
 *
 * Reader: the state machine Google's client libraries run over the same stream (new row ->
 * row in progress -> cell in progress), refusing what they refuse: a first chunk without a
 * key, family or qualifier, a family without a qualifier, a key going backwards (forwards
 * for reversed reads) or changing inside a row, a reset with data, a commit inside a split
 * value, fields other than the value in a value's continuation, and a stream that ends
 * inside a row. It rebuilds the rows and owns their bytes.
 * Reference: google/bigtable/v2/bigtable.proto, ReadRowsResponse.CellChunk.
 */
#ifndef BIGTABLE_CHUNKS_H
#define BIGTABLE_CHUNKS_H

#include "bigtable_cell.h"
#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

#define BT_CHUNK_VALUE_SPLIT    (1024 * 1024) /* a cell value piece, in bytes */
#define BT_CHUNK_RESPONSE_BYTES (4 * 1024 * 1024)

struct bt_chunk_writer;

/* A writer that cuts values longer than value_split and starts a new response after
 * max_response_bytes of values (0 for either: the defaults above). NULL when out of
 * memory. */
struct bt_chunk_writer *bt_chunk_writer_new(size_t value_split, size_t max_response_bytes);

/* Appends one row's chunks (its cells in row order; labels from the filter). */
enum em_code bt_chunk_writer_add_row(struct bt_chunk_writer *w, const struct bt_row *row,
                                     struct em_status *st);

/* The responses so far, as a JSON array the caller now owns ([] when no row had a cell);
 * the writer starts again empty. NULL when out of memory. */
cJSON *bt_chunk_writer_take(struct bt_chunk_writer *w);

void bt_chunk_writer_free(struct bt_chunk_writer *w);

struct bt_chunk_reader;

/* reversed: rows arrive in descending key order (ReadRowsRequest.reversed). */
struct bt_chunk_reader *bt_chunk_reader_new(bool reversed);

/* Reads one ReadRowsResponse object. INVALID_ARGUMENT names the chunk and the rule. */
enum em_code bt_chunk_reader_feed(struct bt_chunk_reader *r, const cJSON *response,
                                  struct em_status *st);

/* The stream ended: fails when a row was left uncommitted. */
enum em_code bt_chunk_reader_finish(struct bt_chunk_reader *r, struct em_status *st);

/* The committed rows, in stream order; valid until the reader is freed. Each label is
 * the first of a cell's labels. */
size_t bt_chunk_reader_count(const struct bt_chunk_reader *r);
const struct bt_row *bt_chunk_reader_row(const struct bt_chunk_reader *r, size_t i);

void bt_chunk_reader_free(struct bt_chunk_reader *r);

#endif
