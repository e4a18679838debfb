/* body_stream.c — a streamed response body between a handler's wire_body_source and a protocol driver (see
 * exchange.h and wire_exchange_respond_stream in http_server.h).
 *
 * One piece at a time: the source is asked for the next piece only when the previous one was consumed, so a
 * response holds at most one piece (about WIRE_BODY_PIECE bytes) plus, with gzip, its compressed form and zlib's
 * state (~270 KiB at windowBits 15, memLevel 8). With gzip every piece is deflated with Z_SYNC_FLUSH, so what has
 * been sent decodes on its own at the peer (a scraper can parse as bytes arrive), and the last with Z_FINISH;
 * the result is one gzip member. Level 1: the exposition text is repetitive enough that higher levels buy little
 * for several times the CPU. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "wire/server/exchange.h"

#define EMPTY_PIECES_MAX 64 /* consecutive empty WIRE_BODY_MORE answers before the source counts as stuck */
#define GZIP_LEVEL 1

struct wire_body_stream {
  wire_body_source src;
  bool gzip, z_ready, src_done;
  z_stream z;
  wire_buf piece; /* what the source appended */
  wire_buf zout;  /* its compressed form (gzip) */
  wire_buf *view; /* piece or zout: the bytes to send */
  size_t off;     /* consumed of *view */
};

wire_body_stream *wire_body_stream_new(const wire_body_source *src, bool gzip) {
  wire_body_stream *b = calloc(1, sizeof *b);
  if (b && gzip) {
    /* 15 + 16: a gzip wrapper around a 32 KiB window */
    if (deflateInit2(&b->z, GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      free(b);
      b = NULL;
    } else {
      b->z_ready = true;
    }
  }
  if (!b) {
    if (src->release) src->release(src->ud, false);
    return NULL;
  }
  b->src = *src;
  b->gzip = gzip;
  wire_buf_init(&b->piece, WIRE_BODY_PIECE_MAX);
  wire_buf_init(&b->zout, WIRE_BODY_PIECE_MAX);
  b->view = &b->piece;
  return b;
}

/* Deflates the whole piece into zout (flushed, or finished when the source is done). */
static int compress_piece(wire_body_stream *b) {
  b->zout.len = 0;
  int flush = b->src_done ? Z_FINISH : Z_SYNC_FLUSH;
  b->z.next_in = b->piece.data;
  b->z.avail_in = (uInt)b->piece.len;
  for (;;) {
    size_t room = deflateBound(&b->z, b->z.avail_in) + 64;
    if (wire_buf_reserve(&b->zout, room, NULL) < 0) return -1;
    size_t avail = b->zout.cap - b->zout.len;
    if (avail > UINT32_MAX) avail = UINT32_MAX;
    b->z.next_out = b->zout.data + b->zout.len;
    b->z.avail_out = (uInt)avail;
    int rc = deflate(&b->z, flush);
    b->zout.len += avail - b->z.avail_out;
    if (rc == Z_STREAM_ERROR) return -1;
    if (flush == Z_FINISH ? rc == Z_STREAM_END : (b->z.avail_in == 0 && b->z.avail_out > 0)) return 0;
    if (rc == Z_BUF_ERROR && b->z.avail_out > 0) return -1; /* no progress possible: cannot happen */
  }
}

int wire_body_stream_fill(wire_body_stream *b) {
  if (b->off < b->view->len || b->src_done) return 0;
  for (int empty = 0; empty < EMPTY_PIECES_MAX; empty++) {
    b->piece.len = 0;
    b->off = 0;
    int rc = b->src.next(b->src.ud, &b->piece, WIRE_BODY_PIECE);
    if (rc < 0) return -1;
    if (rc == WIRE_BODY_END) b->src_done = true;
    if (b->gzip && (b->piece.len || b->src_done)) {
      if (compress_piece(b) < 0) return -1;
      b->view = &b->zout;
    } else {
      b->view = &b->piece;
    }
    if (b->view->len || b->src_done) return 0;
  }
  return -1;
}

const uint8_t *wire_body_stream_data(const wire_body_stream *b, size_t *len) {
  *len = b->view->len - b->off;
  return b->view->data + b->off;
}

void wire_body_stream_consume(wire_body_stream *b, size_t n) {
  b->off += n;
  if (b->off >= b->view->len && b->src_done) { /* the last piece is out: give its memory back early */
    wire_buf_free(&b->piece);
    wire_buf_free(&b->zout);
    b->off = 0;
  }
}

bool wire_body_stream_finished(const wire_body_stream *b) { return b->src_done && b->off >= b->view->len; }

void wire_body_stream_free(wire_body_stream *b, bool completed) {
  if (!b) return;
  if (b->z_ready) deflateEnd(&b->z);
  wire_buf_free(&b->piece);
  wire_buf_free(&b->zout);
  if (b->src.release) b->src.release(b->src.ud, completed);
  free(b);
}
