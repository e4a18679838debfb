/* sniffer_h2.c — HTTP/2 (and gRPC) exchanges of one connection, for the preload shim (see sniffer_h2.h).
 *
 * Each direction runs a small frame machine over the bytes as they come, whatever the cut between calls:
 *   HEAD (9 bytes) -> PADLEN (1 byte, PADDED frames) -> PREFIX (priority 5 / promised stream 4) -> BODY -> PAD
 * and nothing of a payload is kept: DATA bodies are counted, header block fragments are handed to that
 * direction's HPACK inflater as they arrive (nghttp2_hd_inflate_hd2 is incremental), SETTINGS entries are read
 * through a 6-byte window. A header block ends with the frame that carries END_HEADERS; then its results (the
 * fields picked up while it was decoded) act on the stream, and the END_STREAM of its HEADERS frame, if any.
 *
 * Streams live in a small open-addressed table keyed by stream id (linear probing, backward-shift deletion).
 * A request stream enters it when its request header block ends with a :method (server-initiated streams are
 * never followed: pushed responses are not requests the server read), and leaves it with its event.
 *
 * Memory: the whole state is one anonymous mapping; the two inflaters allocate through an nghttp2_mem whose
 * functions run a buddy allocator over the arena at the end of the mapping (blocks of 2^5..2^ARENA_ORDER bytes,
 * free lists threaded through the free blocks, a byte of order/free flag per 32-byte unit). A request the arena
 * cannot meet returns NULL; nghttp2 reports NGHTTP2_ERR_NOMEM and the connection stops being watched.
 *
 * gRPC: the request's content-type marks a call, its :path is checked for the gRPC shape and looked up in the
 * process's method table (at the end of this file) when its header block ends; a call to a method not in the
 * table yet keeps the name in a pending buffer of the connection until the stream ends, when a grpc-status
 * other than UNIMPLEMENTED enters it into the table (sniffer_h2.h says why). */
#include "autoinstr/sniffer_h2.h"

#include <nghttp2/nghttp2.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#define H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_PREFACE_LEN 24

enum { F_DATA = 0, F_HEADERS = 1, F_PRIORITY = 2, F_RST_STREAM = 3, F_SETTINGS = 4, F_PUSH_PROMISE = 5,
       F_PING = 6, F_GOAWAY = 7, F_WINDOW_UPDATE = 8, F_CONTINUATION = 9 };
enum { FL_END_STREAM = 0x1, FL_ACK = 0x1, FL_END_HEADERS = 0x4, FL_PADDED = 0x8, FL_PRIORITY = 0x20 };
enum { PH_HEAD = 0, PH_PADLEN, PH_PREFIX, PH_BODY, PH_PAD };

/* ---- the arena ------------------------------------------------------------------------------------------ */

#define MIN_ORDER 5
#define ARENA_BYTES ((size_t)1 << SNIFF_H2_ARENA_ORDER)
#define UNITS (ARENA_BYTES >> MIN_ORDER)
#define NO_BLOCK UINT32_MAX
#define FREE_BIT 0x80

typedef struct buddy {
  uint32_t head[SNIFF_H2_ARENA_ORDER + 1]; /* first free block of each order (offset), NO_BLOCK for none */
  uint8_t info[UNITS];                     /* per 32-byte unit starting a block: its order, | FREE_BIT if free */
  uint8_t *base;
} buddy;

typedef struct free_block {
  uint32_t next, prev;
} free_block;

static free_block *fb(buddy *b, uint32_t off) { return (free_block *)(void *)(b->base + off); }

static void buddy_push(buddy *b, uint32_t off, unsigned order) {
  free_block *f = fb(b, off);
  f->prev = NO_BLOCK;
  f->next = b->head[order];
  if (f->next != NO_BLOCK) fb(b, f->next)->prev = off;
  b->head[order] = off;
  b->info[off >> MIN_ORDER] = (uint8_t)(order | FREE_BIT);
}

static void buddy_unlink(buddy *b, uint32_t off, unsigned order) {
  free_block *f = fb(b, off);
  if (f->prev != NO_BLOCK) fb(b, f->prev)->next = f->next;
  else b->head[order] = f->next;
  if (f->next != NO_BLOCK) fb(b, f->next)->prev = f->prev;
  b->info[off >> MIN_ORDER] = 0;
}

static void buddy_init(buddy *b, uint8_t *base) {
  b->base = base;
  for (unsigned i = 0; i <= SNIFF_H2_ARENA_ORDER; i++) b->head[i] = NO_BLOCK;
  /* info[] is zero already (a fresh anonymous mapping): not touched, so its pages stay unallocated */
  buddy_push(b, 0, SNIFF_H2_ARENA_ORDER);
}

static void *buddy_alloc(buddy *b, size_t n) {
  if (n > ARENA_BYTES) return NULL;
  unsigned order = MIN_ORDER;
  while (((size_t)1 << order) < n) order++;
  unsigned k = order;
  while (k <= SNIFF_H2_ARENA_ORDER && b->head[k] == NO_BLOCK) k++;
  if (k > SNIFF_H2_ARENA_ORDER) return NULL;
  uint32_t off = b->head[k];
  buddy_unlink(b, off, k);
  while (k > order) { /* split: the upper half stays free */
    k--;
    buddy_push(b, off + ((uint32_t)1 << k), k);
  }
  b->info[off >> MIN_ORDER] = (uint8_t)order;
  return b->base + off;
}

static size_t buddy_size(buddy *b, void *p) {
  uint32_t off = (uint32_t)((uint8_t *)p - b->base);
  return (size_t)1 << (b->info[off >> MIN_ORDER] & 0x7f);
}

static void buddy_free(buddy *b, void *p) {
  if (!p) return;
  uint32_t off = (uint32_t)((uint8_t *)p - b->base);
  unsigned order = b->info[off >> MIN_ORDER] & 0x7f;
  while (order < SNIFF_H2_ARENA_ORDER) {
    uint32_t mate = off ^ ((uint32_t)1 << order);
    if (b->info[mate >> MIN_ORDER] != (FREE_BIT | order)) break;
    buddy_unlink(b, mate, order);
    if (mate < off) off = mate;
    order++;
  }
  buddy_push(b, off, order);
}

static void *mem_malloc(size_t size, void *user) { return buddy_alloc(user, size ? size : 1); }
static void mem_free(void *ptr, void *user) { buddy_free(user, ptr); }
static void *mem_calloc(size_t nmemb, size_t size, void *user) {
  if (size && nmemb > ARENA_BYTES / size) return NULL;
  size_t n = nmemb * size;
  void *p = buddy_alloc(user, n > 0 ? n : 1);
  if (p) memset(p, 0, n);
  return p;
}
static void *mem_realloc(void *ptr, size_t size, void *user) {
  if (!ptr) return mem_malloc(size, user);
  if (size == 0) {
    buddy_free(user, ptr);
    return NULL;
  }
  size_t have = buddy_size(user, ptr);
  if (size <= have) return ptr;
  void *q = buddy_alloc(user, size);
  if (!q) return NULL;
  memcpy(q, ptr, have);
  buddy_free(user, ptr);
  return q;
}

/* ---- state ------------------------------------------------------------------------------------------------ */

typedef struct h2_stream {
  uint32_t id; /* 0: free slot */
  int16_t route;
  uint16_t status;      /* final :status, 0 before */
  int16_t grpc_status;  /* -1 before */
  uint8_t method;
  bool req_done;        /* the client's END_STREAM */
  uint16_t rpc_method;  /* the method's index in the method table, 0: not there (yet) */
  bool grpc;            /* the request's content-type is gRPC */
  uint8_t pending;      /* 1 + the pending buffer holding the method's name, 0: none */
  int64_t t0;
  uint64_t req_body, resp_body;
} h2_stream;

/* What a header block said, gathered while it is decoded. */
typedef struct h2_fields {
  int16_t route;
  int16_t grpc_status;
  uint16_t status;
  uint8_t method;
  bool has_method;
  bool grpc; /* content-type application/grpc */
} h2_fields;

typedef struct h2_dir {
  nghttp2_hd_inflater *inf;
  bool from_client;
  uint8_t phase;
  uint8_t head_len;
  uint8_t head[9];
  uint8_t type, flags;
  uint8_t prefix_left;
  uint8_t set_len;
  uint8_t set_buf[6];
  uint32_t sid;
  uint32_t left;      /* payload bytes of the current frame not consumed yet */
  uint32_t body_left; /* of those, data or fragment bytes */
  uint32_t pad_left;  /* trailing padding */
  /* the header block in progress */
  bool in_block, block_end_stream, block_push, block_new;
  uint32_t block_sid;
  int64_t block_t0;
  h2_fields f;
  /* a SETTINGS_HEADER_TABLE_SIZE of the other side, applied at this direction's next block start */
  bool table_pending;
  uint32_t table_size;
} h2_dir;

struct sniff_h2 {
  sniff_conn *c;
  int64_t now_arg, now_val; /* this call's now_ns; the clock read once per call when it is SNIFF_CLOCK */
  bool now_read;
  bool peer_eof;
  uint8_t preface_left; /* client preface bytes still expected (server-first start) */
  int16_t last_grpc;
  uint32_t n_streams;
  h2_dir in, out; /* read (client -> server), written (server -> client) */
  h2_stream streams[SNIFF_H2_STREAMS];
  /* gRPC: the method name of the client's header block being decoded (gRPC-shaped :path, without its '/'), and
   * the names of calls whose method is not in the table yet (pend_used: a bit per buffer in use) */
  uint8_t rpc_len;
  uint8_t pend_used;
  uint8_t pend_len[SNIFF_H2_RPC_PENDING];
  char rpc_name[SNIFF_RPC_METHOD_MAX];
  char pend[SNIFF_H2_RPC_PENDING][SNIFF_RPC_METHOD_MAX];
  nghttp2_mem mem;
  buddy arena;
  _Alignas(64) uint8_t arena_bytes[ARENA_BYTES];
};

static int64_t now_of(sniff_h2 *h) {
  if (h->now_arg != SNIFF_CLOCK) return h->now_arg;
  if (!h->now_read) {
    const sniff_sink *s = h->c->sink;
    h->now_val = s && s->clock ? s->clock(s->user) : 0;
    h->now_read = true;
  }
  return h->now_val;
}

static void set_now(sniff_h2 *h, int64_t now_ns) {
  h->now_arg = now_ns;
  h->now_read = false;
}

/* ---- streams ---------------------------------------------------------------------------------------------- */

#define STREAM_MASK (SNIFF_H2_STREAMS - 1)

static uint32_t home_of(uint32_t id) { return (id >> 1) & STREAM_MASK; }

static h2_stream *stream_find(sniff_h2 *h, uint32_t id) {
  if (id == 0) return NULL;
  for (uint32_t i = home_of(id), n = 0; n < SNIFF_H2_STREAMS; i = (i + 1) & STREAM_MASK, n++) {
    if (h->streams[i].id == id) return &h->streams[i];
    if (h->streams[i].id == 0) return NULL;
  }
  return NULL;
}

static h2_stream *stream_add(sniff_h2 *h, uint32_t id) {
  if (h->n_streams >= SNIFF_H2_STREAMS - 1) return NULL; /* keep one slot empty: lookups end */
  uint32_t i = home_of(id);
  while (h->streams[i].id != 0) i = (i + 1) & STREAM_MASK;
  h->n_streams++;
  h2_stream *s = &h->streams[i];
  memset(s, 0, sizeof *s);
  s->id = id;
  s->route = -1;
  s->grpc_status = -1;
  return s;
}

static void stream_remove(sniff_h2 *h, h2_stream *s) {
  uint32_t i = (uint32_t)(s - h->streams);
  h->streams[i].id = 0;
  h->n_streams--;
  /* backward shift: move up every entry of the run that would no longer be reachable */
  for (uint32_t j = (i + 1) & STREAM_MASK; h->streams[j].id != 0; j = (j + 1) & STREAM_MASK) {
    uint32_t home = home_of(h->streams[j].id);
    bool reachable = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (reachable) continue;
    h->streams[i] = h->streams[j];
    h->streams[j].id = 0;
    i = j;
  }
}

static void active(sniff_h2 *h, const h2_stream *s, int delta) {
  const sniff_sink *k = h->c->sink;
  if (k && k->active) k->active(k->user, s->method, h->c->scheme, h->c->port_slot, delta);
}

/* The gRPC fields of the event of s (sniffer_h2.h); frees its pending buffer. */
static void rpc_finish(sniff_h2 *h, const h2_stream *s, sniff_event *ev) {
  unsigned index = s->rpc_method;
  if (s->pending) {
    unsigned b = s->pending - 1u;
    bool recognised = s->grpc_status >= 0 && s->grpc_status != 12; /* 12: UNIMPLEMENTED */
    if (!index) index = sniff_rpc_method_index(h->pend[b], h->pend_len[b], recognised);
    h->pend_used &= (uint8_t)~(1u << b);
  }
  if (!s->grpc && s->grpc_status < 0) return;
  ev->rpc_status = (uint8_t)(s->grpc_status >= 0 ? SNIFF_RPC_STATUS + s->grpc_status : SNIFF_RPC_NO_STATUS);
  ev->rpc_method = (uint16_t)index;
}

/* The exchange of s ends: one event (status 0 and the response body only when the final head was written),
 * the active count down, the slot freed. */
static void stream_finish(sniff_h2 *h, h2_stream *s, int error) {
  sniff_conn *c = h->c;
  int64_t d = now_of(h) - s->t0;
  sniff_event ev = {
      .duration = d > 0 ? d : 0,
      .req_body = s->req_body,
      .resp_body = s->status ? s->resp_body : 0,
      .status = s->status,
      .port = c->port,
      .method = s->method,
      .version = 20,
      .scheme = c->scheme,
      .error = (uint8_t)error,
      .route = s->route,
      .port_slot = c->port_slot,
  };
  rpc_finish(h, s, &ev);
  h->last_grpc = s->grpc_status;
  active(h, s, -1);
  stream_remove(h, s);
  if (c->sink && c->sink->exchange_done) c->sink->exchange_done(c->sink->user, &ev);
}

/* ---- the end of the watching ------------------------------------------------------------------------------- */

static void unmap(sniff_conn *c, sniff_stop why) {
  sniff_h2 *h = c->h2;
  c->h2 = NULL;
  c->mode = SNIFF_MODE_OFF;
  c->stop = (uint8_t)why;
  if (h) munmap(h, sizeof *h);
}

void sniff_h2_stop(sniff_conn *c, sniff_stop why) {
  sniff_h2 *h = c->h2;
  if (h) {
    for (uint32_t i = 0; i < SNIFF_H2_STREAMS; i++)
      if (h->streams[i].id) active(h, &h->streams[i], -1);
  }
  unmap(c, why);
}

void sniff_h2_close(sniff_conn *c, int64_t now_ns) {
  sniff_h2 *h = c->h2;
  if (!h) {
    unmap(c, (sniff_stop)c->stop);
    return;
  }
  set_now(h, now_ns);
  for (uint32_t i = 0; i < SNIFF_H2_STREAMS;) { /* removal shifts entries back into i: look at i again */
    h2_stream *s = &h->streams[i];
    if (!s->id) {
      i++;
      continue;
    }
    int error = !s->req_done ? (h->peer_eof ? SNIFF_ERR_REQUEST_ABORTED : SNIFF_ERR_REQUEST_INCOMPLETE)
                             : SNIFF_ERR_RESPONSE_INCOMPLETE;
    stream_finish(h, s, error);
  }
  unmap(c, SNIFF_STOP_NONE);
}

void sniff_h2_peer_closed(sniff_conn *c, int64_t now_ns) {
  (void)now_ns;
  if (c->h2) c->h2->peer_eof = true;
}

int sniff_h2_last_grpc_status(const sniff_conn *c) { return c->h2 ? c->h2->last_grpc : -1; }

/* ---- header blocks ----------------------------------------------------------------------------------------- */

static bool name_is(const nghttp2_nv *nv, const char *name, size_t n) {
  return nv->namelen == n && memcmp(nv->name, name, n) == 0;
}

/* A decimal number of at most `digits` digits, or -1. */
static int small_number(const uint8_t *p, size_t n, size_t digits) {
  if (n == 0 || n > digits) return -1;
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') return -1;
    v = v * 10 + (p[i] - '0');
  }
  return v;
}

static bool is_ident_start(uint8_t ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_'; }
static bool is_digit(uint8_t ch) { return ch >= '0' && ch <= '9'; }

/* The length of the method name in a :path of the gRPC shape "/Service/Method" (Service: identifiers joined by
 * dots, Method: one identifier), at most SNIFF_RPC_METHOD_MAX bytes in all; 0 for any other path. */
static size_t rpc_shape(const uint8_t *p, size_t n) {
  if (n < 4 || n > SNIFF_RPC_METHOD_MAX || p[0] != '/') return 0;
  bool slash = false, start = true; /* start: the next byte begins an identifier */
  for (size_t i = 1; i < n; i++) {
    uint8_t ch = p[i];
    if (is_ident_start(ch) || (!start && is_digit(ch))) {
      start = false;
    } else if (start) {
      return 0; /* an empty identifier, or one starting with a digit */
    } else if ((ch == '.' || ch == '/') && !slash) {
      slash = ch == '/';
      start = true;
    } else {
      return 0;
    }
  }
  return slash && !start ? n - 1 : 0;
}

/* content-type application/grpc, alone or with a +suffix or parameters (not application/grpc-web). */
static bool is_grpc_type(const uint8_t *v, size_t n) {
  static const char k[] = "application/grpc";
  size_t kn = sizeof k - 1;
  if (n < kn) return false;
  for (size_t i = 0; i < kn; i++) {
    uint8_t ch = v[i];
    if (ch >= 'A' && ch <= 'Z') ch = (uint8_t)(ch + 32);
    if (ch != (uint8_t)k[i]) return false;
  }
  return n == kn || v[kn] == '+' || v[kn] == ';';
}

static void on_field(sniff_h2 *h, h2_dir *d, const nghttp2_nv *nv) {
  if (d->from_client) {
    if (name_is(nv, ":method", 7)) {
      d->f.method = (uint8_t)sniff_method_of((const char *)nv->value, nv->valuelen);
      d->f.has_method = true;
    } else if (name_is(nv, ":path", 5)) {
      if (h->c->routes)
        d->f.route = (int16_t)preload_routes_match(h->c->routes, (const char *)nv->value, nv->valuelen);
      size_t n = rpc_shape(nv->value, nv->valuelen); /* bounded: n < SNIFF_RPC_METHOD_MAX */
      if (n) memcpy(h->rpc_name, nv->value + 1, n);
      h->rpc_len = (uint8_t)n;
    } else if (name_is(nv, "content-type", 12)) {
      d->f.grpc = is_grpc_type(nv->value, nv->valuelen);
    }
  } else if (name_is(nv, ":status", 7)) {
    int st = small_number(nv->value, nv->valuelen, 3);
    if (st >= 100) d->f.status = (uint16_t)st;
  } else if (name_is(nv, "grpc-status", 11)) {
    d->f.grpc_status = (int16_t)small_number(nv->value, nv->valuelen, 2);
  }
}

/* Feeds a fragment (or, with final, the end of the block) to d's inflater. False on an HPACK error. */
static bool inflate(sniff_h2 *h, h2_dir *d, const uint8_t *p, size_t n, bool final) {
  static const uint8_t k_none[1];
  if (!p) p = k_none;
  for (;;) {
    nghttp2_nv nv;
    int flags = 0;
    ssize_t used = nghttp2_hd_inflate_hd2(d->inf, &nv, &flags, p, n, final);
    if (used < 0) return false;
    p += used;
    n -= (size_t)used;
    if (flags & NGHTTP2_HD_INFLATE_EMIT) on_field(h, d, &nv);
    if (flags & NGHTTP2_HD_INFLATE_FINAL) {
      nghttp2_hd_inflate_end_headers(d->inf);
      return true;
    }
    if (!(flags & NGHTTP2_HD_INFLATE_EMIT) && n == 0) return !final;
  }
}

/* A header block begins in direction d. */
static bool block_begin(sniff_h2 *h, h2_dir *d, bool push) {
  if (d->table_pending) { /* between blocks is the one time an inflater may be resized */
    if (nghttp2_hd_inflate_change_table_size(d->inf, d->table_size) != 0) return false;
    d->table_pending = false;
  }
  d->in_block = true;
  d->block_sid = d->sid;
  d->block_end_stream = !push && (d->flags & FL_END_STREAM);
  d->block_push = push;
  d->f = (h2_fields){.route = -1, .grpc_status = -1};
  if (d->from_client) h->rpc_len = 0;
  d->block_new = false;
  if (d->from_client && !push && !stream_find(h, d->sid)) { /* a new request: its clock starts now */
    d->block_new = true;
    d->block_t0 = now_of(h);
  }
  return true;
}

/* A request stream begins: its method's index if the table has it already, else (a gRPC call) its name kept in
 * a pending buffer, if one is free, until the stream ends (rpc_finish). */
static void rpc_begin(sniff_h2 *h, h2_stream *s, bool grpc) {
  s->grpc = grpc;
  if (!h->rpc_len) return;
  s->rpc_method = (uint16_t)sniff_rpc_method_index(h->rpc_name, h->rpc_len, false);
  if (s->rpc_method || !grpc || h->pend_used == (uint8_t)((1u << SNIFF_H2_RPC_PENDING) - 1)) return;
  unsigned b = (unsigned)__builtin_ctz(~(unsigned)h->pend_used);
  h->pend_used |= (uint8_t)(1u << b);
  memcpy(h->pend[b], h->rpc_name, h->rpc_len);
  h->pend_len[b] = h->rpc_len;
  s->pending = (uint8_t)(b + 1);
}

/* The block of direction d is complete. */
static void block_end(sniff_h2 *h, h2_dir *d) {
  d->in_block = false;
  if (d->block_push) return; /* a promised request: the server's, not one it read */
  h2_stream *s = stream_find(h, d->block_sid);
  if (d->from_client) {
    if (!s) {
      if (!d->block_new || !d->f.has_method || (d->block_sid & 1) == 0) return;
      s = stream_add(h, d->block_sid);
      if (!s) return; /* too many streams at once: this one is not measured */
      s->t0 = d->block_t0;
      s->method = d->f.method;
      s->route = d->f.route;
      rpc_begin(h, s, d->f.grpc);
      active(h, s, +1);
    }
    if (d->block_end_stream) s->req_done = true;
    return;
  }
  if (!s) return;
  if (d->f.status >= 200 && !s->status) s->status = d->f.status;
  if (d->f.grpc_status >= 0) s->grpc_status = d->f.grpc_status;
  if (d->block_end_stream) stream_finish(h, s, SNIFF_ERR_NONE);
}

/* ---- frames ------------------------------------------------------------------------------------------------- */

static h2_dir *other(sniff_h2 *h, h2_dir *d) { return d == &h->in ? &h->out : &h->in; }

/* A SETTINGS entry sent by d's side: SETTINGS_HEADER_TABLE_SIZE bounds the other side's encoder. */
static bool on_setting(sniff_h2 *h, h2_dir *d, const uint8_t e[6]) {
  uint16_t id = (uint16_t)(e[0] << 8 | e[1]);
  uint32_t v = (uint32_t)e[2] << 24 | (uint32_t)e[3] << 16 | (uint32_t)e[4] << 8 | e[5];
  if (id != NGHTTP2_SETTINGS_HEADER_TABLE_SIZE) return true;
  h2_dir *o = other(h, d);
  o->table_size = v < SNIFF_H2_TABLE_MAX ? v : SNIFF_H2_TABLE_MAX;
  o->table_pending = true;
  if (!o->in_block) {
    if (nghttp2_hd_inflate_change_table_size(o->inf, o->table_size) != 0) return false;
    o->table_pending = false;
  }
  return true;
}

/* The 9-byte header of a frame is complete. False: the connection does not follow the protocol. */
static bool frame_begin(sniff_h2 *h, h2_dir *d) {
  const uint8_t *b = d->head;
  uint32_t len = (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];
  d->type = b[3];
  d->flags = b[4];
  d->sid = ((uint32_t)b[5] << 24 | (uint32_t)b[6] << 16 | (uint32_t)b[7] << 8 | b[8]) & 0x7fffffffu;
  if (d->in_block != (d->type == F_CONTINUATION)) return false;
  if (d->in_block && d->sid != d->block_sid) return false;
  d->left = len;
  d->prefix_left = 0;
  d->pad_left = 0;
  d->set_len = 0;
  bool padded = false;
  switch (d->type) {
  case F_DATA:
    if (d->sid == 0) return false;
    padded = d->flags & FL_PADDED;
    break;
  case F_HEADERS:
    if (d->sid == 0) return false;
    padded = d->flags & FL_PADDED;
    d->prefix_left = (d->flags & FL_PRIORITY) ? 5 : 0;
    if (!block_begin(h, d, false)) return false;
    break;
  case F_PUSH_PROMISE:
    if (d->from_client || d->sid == 0) return false;
    padded = d->flags & FL_PADDED;
    d->prefix_left = 4;
    if (!block_begin(h, d, true)) return false;
    break;
  case F_SETTINGS:
    if (d->sid != 0 || ((d->flags & FL_ACK) ? len != 0 : len % 6 != 0)) return false;
    break;
  default: break;
  }
  if (padded) {
    if (len < 1) return false;
    d->phase = PH_PADLEN;
    return true;
  }
  if (len < d->prefix_left) return false;
  d->body_left = len - d->prefix_left;
  d->phase = PH_PREFIX;
  return true;
}

/* Payload bytes of the body part of the current frame. */
static bool frame_body(sniff_h2 *h, h2_dir *d, const uint8_t *p, size_t n) {
  switch (d->type) {
  case F_DATA: {
    h2_stream *s = stream_find(h, d->sid);
    if (s) {
      if (d->from_client) s->req_body += n;
      else s->resp_body += n;
    }
    return true;
  }
  case F_HEADERS:
  case F_PUSH_PROMISE:
  case F_CONTINUATION: return inflate(h, d, p, n, false);
  case F_SETTINGS:
    if (d->flags & FL_ACK) return true;
    while (n > 0) {
      size_t k = 6u - d->set_len < n ? 6u - d->set_len : n;
      memcpy(d->set_buf + d->set_len, p, k);
      d->set_len = (uint8_t)(d->set_len + k);
      p += k;
      n -= k;
      if (d->set_len == 6) {
        d->set_len = 0;
        if (!on_setting(h, d, d->set_buf)) return false;
      }
    }
    return true;
  default: return true;
  }
}

/* The whole payload of the current frame has been consumed. */
static bool frame_end(sniff_h2 *h, h2_dir *d) {
  d->phase = PH_HEAD;
  d->head_len = 0;
  switch (d->type) {
  case F_DATA:
    if (d->flags & FL_END_STREAM) {
      h2_stream *s = stream_find(h, d->sid);
      if (s && d->from_client) s->req_done = true;
      else if (s) stream_finish(h, s, SNIFF_ERR_NONE);
    }
    return true;
  case F_HEADERS:
  case F_PUSH_PROMISE:
  case F_CONTINUATION:
    if (!(d->flags & FL_END_HEADERS)) return true;
    if (!inflate(h, d, NULL, 0, true)) return false;
    block_end(h, d);
    return true;
  case F_RST_STREAM: {
    h2_stream *s = stream_find(h, d->sid);
    if (!s) return true;
    int error = s->req_done ? SNIFF_ERR_RESPONSE_INCOMPLETE
                : d->from_client ? SNIFF_ERR_REQUEST_ABORTED : SNIFF_ERR_REQUEST_INCOMPLETE;
    stream_finish(h, s, error);
    return true;
  }
  default: return true;
  }
}

/* Moves past phases that have nothing left; ends the frame when its payload is consumed. */
static bool settle(sniff_h2 *h, h2_dir *d) {
  for (;;) {
    switch (d->phase) {
    case PH_HEAD: return true;
    case PH_PADLEN: return true; /* one byte to come (left >= 1 was checked) */
    case PH_PREFIX:
      if (d->prefix_left) return true;
      d->phase = PH_BODY;
      break;
    case PH_BODY:
      if (d->body_left) return true;
      d->phase = PH_PAD;
      break;
    default:
      if (d->pad_left) return true;
      return frame_end(h, d);
    }
  }
}

/* Follows a direction's bytes. False: stop watching. */
static bool dir_feed(sniff_h2 *h, h2_dir *d, const uint8_t *p, size_t n) {
  while (n > 0) {
    size_t k;
    switch (d->phase) {
    case PH_HEAD:
      k = 9u - d->head_len < n ? 9u - d->head_len : n;
      memcpy(d->head + d->head_len, p, k);
      d->head_len = (uint8_t)(d->head_len + k);
      p += k, n -= k;
      if (d->head_len < 9) return true;
      if (!frame_begin(h, d)) return false;
      break;
    case PH_PADLEN: {
      uint8_t pad = *p++;
      n--;
      d->left--;
      if ((uint32_t)pad + d->prefix_left > d->left) return false;
      d->pad_left = pad;
      d->body_left = d->left - d->prefix_left - pad;
      d->phase = PH_PREFIX;
      break;
    }
    case PH_PREFIX:
      k = d->prefix_left < n ? d->prefix_left : n;
      d->prefix_left = (uint8_t)(d->prefix_left - k);
      d->left -= (uint32_t)k;
      p += k, n -= k;
      break;
    case PH_BODY:
      k = d->body_left < n ? d->body_left : n;
      if (!frame_body(h, d, p, k)) return false;
      d->body_left -= (uint32_t)k;
      d->left -= (uint32_t)k;
      p += k, n -= k;
      break;
    default:
      k = d->pad_left < n ? d->pad_left : n;
      d->pad_left -= (uint32_t)k;
      d->left -= (uint32_t)k;
      p += k, n -= k;
      break;
    }
    if (!settle(h, d)) return false;
  }
  return settle(h, d);
}

/* ---- entry points ------------------------------------------------------------------------------------------- */

static bool dir_init(sniff_h2 *h, h2_dir *d, bool from_client) {
  d->from_client = from_client;
  d->phase = PH_HEAD;
  return nghttp2_hd_inflate_new2(&d->inf, &h->mem) == 0;
}

static sniff_h2 *h2_new(sniff_conn *c) {
  void *m = mmap(NULL, sizeof(sniff_h2), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return NULL;
  sniff_h2 *h = m; /* zero-filled */
  h->c = c;
  h->last_grpc = -1;
  buddy_init(&h->arena, h->arena_bytes);
  h->mem = (nghttp2_mem){.mem_user_data = &h->arena, .malloc = mem_malloc, .free = mem_free,
                         .calloc = mem_calloc, .realloc = mem_realloc};
  if (!dir_init(h, &h->in, true) || !dir_init(h, &h->out, false)) {
    munmap(m, sizeof(sniff_h2));
    return NULL;
  }
  c->h2 = h;
  c->mode = SNIFF_MODE_H2;
  return h;
}

bool sniff_h2_begin(sniff_conn *c, const uint8_t *rest, size_t len, int64_t now_ns) {
  if (c->h2) return false;
  sniff_h2 *h = h2_new(c);
  if (!h) return false;
  set_now(h, now_ns);
  if (len && !dir_feed(h, &h->in, rest, len)) sniff_h2_stop(c, SNIFF_STOP_PARSE);
  return true;
}

bool sniff_h2_begin_server_first(sniff_conn *c, const uint8_t *data, size_t len, bool tls, int64_t now_ns) {
  /* SETTINGS, no flags, stream 0, whole entries: what an HTTP/2 server's first frame must be. Of a write
   * shorter than a frame header, the bytes there are must fit (the frame parser checks the rest). */
  static const uint8_t want[9] = {0, 0, 0, F_SETTINGS, 0, 0, 0, 0, 0};
  if (c->h2 || len == 0) return false;
  for (size_t i = 0; i < 9 && i < len; i++)
    if (i != 1 && i != 2 && data[i] != want[i]) return false;
  if (len >= 3) {
    uint32_t flen = (uint32_t)data[0] << 16 | (uint32_t)data[1] << 8 | data[2];
    if (flen % 6 != 0 || flen > 6u * 64) return false;
  }
  sniff_h2 *h = h2_new(c);
  if (!h) return false;
  if (tls) c->scheme = SNIFF_HTTPS;
  h->preface_left = H2_PREFACE_LEN;
  set_now(h, now_ns);
  if (!dir_feed(h, &h->out, data, len)) sniff_h2_stop(c, SNIFF_STOP_PARSE);
  return true;
}

void sniff_h2_read(sniff_conn *c, const uint8_t *data, size_t len, bool tls, int64_t now_ns) {
  sniff_h2 *h = c->h2;
  if (!h) return;
  if (len == 0) { /* the peer's close, raw or through TLS */
    h->peer_eof = true;
    return;
  }
  if (tls != (c->scheme == SNIFF_HTTPS)) return;
  set_now(h, now_ns);
  while (h->preface_left && len) { /* server-first: the client's preface comes first */
    if (*data != (uint8_t)H2_PREFACE[H2_PREFACE_LEN - h->preface_left]) {
      sniff_h2_stop(c, SNIFF_STOP_UNEXPECTED); /* the server spoke first, and this is not HTTP/2 */
      return;
    }
    h->preface_left--;
    data++, len--;
  }
  if (len && !dir_feed(h, &h->in, data, len)) sniff_h2_stop(c, SNIFF_STOP_PARSE);
}

void sniff_h2_write(sniff_conn *c, const uint8_t *data, size_t len, bool tls, int64_t now_ns) {
  sniff_h2 *h = c->h2;
  if (!h || len == 0 || tls != (c->scheme == SNIFF_HTTPS)) return;
  set_now(h, now_ns);
  if (!dir_feed(h, &h->out, data, len)) sniff_h2_stop(c, SNIFF_STOP_PARSE);
}

void sniff_h2_write_opaque(sniff_conn *c, uint64_t len, int64_t now_ns) {
  sniff_h2 *h = c->h2;
  if (!h || len == 0) return;
  set_now(h, now_ns);
  h2_dir *d = &h->out;
  /* unseen bytes can only be DATA payload: counted, the rest of the frame follows as usual */
  if (d->phase != PH_BODY || d->type != F_DATA || len > d->body_left) {
    sniff_h2_stop(c, SNIFF_STOP_PARSE);
    return;
  }
  h2_stream *s = stream_find(h, d->sid);
  if (s) s->resp_body += len;
  d->body_left -= (uint32_t)len;
  d->left -= (uint32_t)len;
  if (!settle(h, d)) sniff_h2_stop(c, SNIFF_STOP_PARSE);
}

/* ---- the process's gRPC method table ---------------------------------------------------------------------
 *
 * Open addressing over twice as many slots as methods allowed (linear probing, never deleted), keyed by the
 * name's FNV-1a hash. Writers are host threads, possibly in signal handlers, so nothing here waits: a writer
 * reserves room in the count, claims a free slot by compare-exchanging its hash from 0, writes the name, then
 * publishes it (ready, release). A reader (another host thread, the recording thread through an event's index)
 * that meets a slot not published yet treats it as absent. A slot claimed in a parent that forks before
 * publishing stays unpublished in the child: one lost slot, never a wrong name. */

#define RPC_SLOTS (2 * SNIFF_RPC_METHODS) /* a power of two */

_Static_assert((RPC_SLOTS & (RPC_SLOTS - 1)) == 0, "RPC_SLOTS must be a power of two");
_Static_assert(RPC_SLOTS <= UINT16_MAX, "sniff_event.rpc_method is 16 bits");
_Static_assert(SNIFF_H2_RPC_PENDING <= 8, "pend_used is 8 bits");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "the method table needs lock-free 64-bit atomics");

typedef struct rpc_slot {
  _Atomic uint64_t hash; /* 0: free */
  _Atomic bool ready;    /* name and len are written */
  uint8_t len;
  char name[SNIFF_RPC_METHOD_MAX]; /* NUL-terminated (len < SNIFF_RPC_METHOD_MAX) */
} rpc_slot;

static rpc_slot g_rpc_slots[RPC_SLOTS];
static _Atomic unsigned g_rpc_count; /* slots claimed (or being claimed) */

static uint64_t rpc_hash(const char *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 0x100000001b3ull;
  return h ? h : 1;
}

unsigned sniff_rpc_method_index(const char *name, size_t n, bool insert) {
  if (n == 0 || n >= SNIFF_RPC_METHOD_MAX) return 0;
  uint64_t hash = rpc_hash(name, n);
  unsigned i = (unsigned)hash & (RPC_SLOTS - 1);
  for (unsigned probes = 0; probes < RPC_SLOTS;) {
    rpc_slot *e = &g_rpc_slots[i];
    uint64_t have = atomic_load_explicit(&e->hash, memory_order_acquire);
    if (have == 0) { /* the end of the run: absent */
      if (!insert) return 0;
      if (atomic_fetch_add_explicit(&g_rpc_count, 1, memory_order_relaxed) >= SNIFF_RPC_METHODS) {
        atomic_fetch_sub_explicit(&g_rpc_count, 1, memory_order_relaxed);
        return 0; /* full: _OTHER */
      }
      if (!atomic_compare_exchange_strong_explicit(&e->hash, &have, hash, memory_order_acq_rel,
                                                   memory_order_acquire)) {
        atomic_fetch_sub_explicit(&g_rpc_count, 1, memory_order_relaxed);
        continue; /* another thread took this slot: look at what it holds */
      }
      memcpy(e->name, name, n);
      e->name[n] = '\0';
      e->len = (uint8_t)n;
      atomic_store_explicit(&e->ready, true, memory_order_release);
      return i + 1;
    }
    if (have == hash) {
      if (!atomic_load_explicit(&e->ready, memory_order_acquire)) return 0; /* being written: not yet */
      if (e->len == n && memcmp(e->name, name, n) == 0) return i + 1;
    }
    i = (i + 1) & (RPC_SLOTS - 1);
    probes++;
  }
  return 0;
}

const char *sniff_rpc_method_name(unsigned index) {
  if (index == 0 || index > RPC_SLOTS) return "_OTHER";
  rpc_slot *e = &g_rpc_slots[index - 1];
  return atomic_load_explicit(&e->ready, memory_order_acquire) ? e->name : "_OTHER";
}

void sniff_rpc_methods_reset(void) {
  for (unsigned i = 0; i < RPC_SLOTS; i++) {
    atomic_store(&g_rpc_slots[i].ready, false);
    atomic_store(&g_rpc_slots[i].hash, 0);
  }
  atomic_store(&g_rpc_count, 0);
}
