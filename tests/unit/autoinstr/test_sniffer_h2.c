/* test_sniffer_h2.c — the preload shim's HTTP/2 sniffer (autoinstr/sniffer_h2.c) fed with real HTTP/2 byte
 * streams: frames built here, header blocks encoded with nghttp2's HPACK deflater (one per direction, as peers
 * do). Each scenario is a script of reads and writes; it runs whole (one call per step) and byte by byte, and
 * both runs must report the same exchanges. Checked: method, :status, route from :path, body sizes from DATA
 * (padding excluded), grpc-status in trailers and trailers-only responses, CONTINUATION, multiplexed streams
 * answered out of order, RST_STREAM and closes (error.type), the server speaking first (node, nginx), TLS,
 * SETTINGS_HEADER_TABLE_SIZE, the stream-table and arena bounds, and that active requests come back to 0.
 * gRPC calls: which streams are calls (content-type, grpc-status), their status in the event, the method
 * bounded (shape, recognised by a status other than UNIMPLEMENTED, the per-process table's limit, the
 * per-connection pending buffers) and reported as a table index. */
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoinstr/sniffer.h"
#include "autoinstr/sniffer_h2.h"
#include "testlib.h"

#define MAX_EVENTS 128

typedef struct capture {
  sniff_event ev[MAX_EVENTS];
  int n;
  int active;
  int grpc[MAX_EVENTS]; /* sniff_h2_last_grpc_status right after each event */
} capture;

static capture g_cap;
static sniff_conn *g_conn;

static void cap_done(void *user, const sniff_event *ev) {
  capture *c = user;
  if (c->n < MAX_EVENTS) {
    c->ev[c->n] = *ev;
    c->grpc[c->n] = sniff_h2_last_grpc_status(g_conn);
  }
  c->n++;
}

static void cap_active(void *user, uint8_t method, uint8_t scheme, uint8_t port_slot, int delta) {
  (void)method, (void)scheme, (void)port_slot;
  ((capture *)user)->active += delta;
}

static sniff_sink g_sink = {cap_done, cap_active, &g_cap, NULL, NULL};
static preload_routes g_routes;

/* ---- a script: steps of reads and writes over one buffer ---- */

enum { RD, WR, RD_TLS, WR_TLS, RD_RAW_TLS, PEER_CLOSE };

typedef struct step {
  int op;
  size_t off, len;
  int64_t t;
} step;

typedef struct script {
  uint8_t *buf;
  size_t len, cap;
  step steps[4096];
  int n;
  int64_t t;
  nghttp2_hd_deflater *client_enc, *server_enc;
} script;

static void put(script *s, const void *p, size_t n) {
  if (s->len + n > s->cap) {
    s->cap = (s->len + n) * 2;
    s->buf = realloc(s->buf, s->cap);
  }
  memcpy(s->buf + s->len, p, n);
  s->len += n;
}

/* Appends bytes as part of a new step of kind op (consecutive puts to the same op merge into one step). */
static void emit(script *s, int op, const void *p, size_t n) {
  if (s->n == 0 || s->steps[s->n - 1].op != op) {
    s->steps[s->n++] = (step){.op = op, .off = s->len, .len = 0, .t = ++s->t};
  }
  put(s, p, n);
  s->steps[s->n - 1].len += n;
}

static void cut(script *s) { /* the next emit starts a new step even in the same direction */
  if (s->n) s->steps[s->n++] = (step){.op = -1, .off = s->len, .len = 0, .t = s->t};
}

static script *script_new(void) {
  script *s = calloc(1, sizeof *s);
  nghttp2_hd_deflate_new(&s->client_enc, 4096);
  nghttp2_hd_deflate_new(&s->server_enc, 4096);
  return s;
}

static void script_free(script *s) {
  nghttp2_hd_deflate_del(s->client_enc);
  nghttp2_hd_deflate_del(s->server_enc);
  free(s->buf);
  free(s);
}

static void frame(script *s, int op, uint8_t type, uint8_t flags, uint32_t sid, const void *p, size_t n) {
  uint8_t h[9] = {(uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n, type, flags,
                  (uint8_t)(sid >> 24), (uint8_t)(sid >> 16), (uint8_t)(sid >> 8), (uint8_t)sid};
  emit(s, op, h, 9);
  if (n) emit(s, op, p, n);
}

static const char k_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

static void client_preface(script *s, int op) {
  emit(s, op, k_preface, 24);
  uint8_t set[6] = {0, 3, 0, 0, 0, 100}; /* MAX_CONCURRENT_STREAMS 100 */
  frame(s, op, 4, 0, 0, set, 6);
}

static void server_settings(script *s, int op) {
  uint8_t set[12] = {0, 3, 0, 0, 0, 128, 0, 4, 0, 0, 0xff, 0xff};
  frame(s, op, 4, 0, 0, set, 12);
  frame(s, op, 4, 1, 0, NULL, 0); /* ACK of the client's */
}

/* A header block as HEADERS (+ CONTINUATION when split > 0: the block cut every `split` bytes). */
static void headers(script *s, int op, uint32_t sid, uint8_t flags, const char *const *kv, int split) {
  nghttp2_nv nv[16];
  size_t n = 0;
  for (; kv[2 * n]; n++)
    nv[n] = (nghttp2_nv){(uint8_t *)kv[2 * n], (uint8_t *)kv[2 * n + 1], strlen(kv[2 * n]), strlen(kv[2 * n + 1]),
                         NGHTTP2_NV_FLAG_NONE};
  bool from_client = op == RD || op == RD_TLS;
  nghttp2_hd_deflater *enc = from_client ? s->client_enc : s->server_enc;
  size_t bound = nghttp2_hd_deflate_bound(enc, nv, n);
  uint8_t *block = malloc(bound);
  ssize_t bn = nghttp2_hd_deflate_hd(enc, block, bound, nv, n);
  CHECK(bn >= 0);
  if (split <= 0 || bn <= split) {
    frame(s, op, 1, (uint8_t)(flags | 0x4), sid, block, (size_t)bn);
  } else {
    size_t off = 0;
    frame(s, op, 1, flags, sid, block, (size_t)split);
    off = (size_t)split;
    while (off < (size_t)bn) {
      size_t k = (size_t)bn - off < (size_t)split ? (size_t)bn - off : (size_t)split;
      frame(s, op, 9, off + k == (size_t)bn ? 0x4 : 0, sid, block + off, k);
      off += k;
    }
  }
  free(block);
}

static void data(script *s, int op, uint32_t sid, bool end, const char *body, size_t n, int pad) {
  if (pad < 0) {
    frame(s, op, 0, end ? 1 : 0, sid, body, n);
    return;
  }
  uint8_t *p = calloc(1, n + (size_t)pad + 1);
  p[0] = (uint8_t)pad;
  memcpy(p + 1, body, n);
  frame(s, op, 0, (uint8_t)((end ? 1 : 0) | 0x8), sid, p, n + (size_t)pad + 1);
  free(p);
}

static void rst(script *s, int op, uint32_t sid) {
  uint8_t code[4] = {0, 0, 0, 8}; /* CANCEL */
  frame(s, op, 3, 0, sid, code, 4);
}

/* ---- running ---- */

static sniff_conn *conn_new(void) {
  memset(&g_cap, 0, sizeof g_cap);
  sniff_conn *c = malloc(sizeof *c);
  preload_routes_compile(&g_routes, "/users/{id},/static/*,/pkg.Greeter/{method}");
  sniff_init(c, &g_sink, &g_routes, 8443, 2);
  g_conn = c;
  return c;
}

static void do_step(sniff_conn *c, const script *s, const step *st, size_t off, size_t n) {
  const uint8_t *p = s->buf + st->off + off;
  switch (st->op) {
  case RD: sniff_read(c, p, n, st->t); break;
  case WR: sniff_write(c, p, n, st->t); break;
  case RD_TLS: sniff_read_tls(c, p, n, st->t); break;
  case WR_TLS: sniff_write_tls(c, p, n, st->t); break;
  case RD_RAW_TLS: sniff_read(c, p, n, st->t); break;
  default: break;
  }
}

/* Runs s on a fresh connection (bytewise: one call per byte), closes it at the end unless keep_open; returns it
 * (the caller frees it). close_peer: the client closed first. */
static sniff_conn *run(const script *s, bool bytewise, bool close_peer, bool keep_open) {
  sniff_conn *c = conn_new();
  for (int i = 0; i < s->n; i++) {
    const step *st = &s->steps[i];
    if (st->op == PEER_CLOSE) {
      sniff_peer_closed(c, st->t);
      continue;
    }
    if (!bytewise) {
      if (st->len) do_step(c, s, st, 0, st->len);
    } else {
      for (size_t k = 0; k < st->len; k++) do_step(c, s, st, k, 1);
    }
  }
  if (close_peer) sniff_peer_closed(c, s->t + 1);
  if (!keep_open) sniff_close(c, s->t + 2);
  return c;
}

/* Runs s whole and byte by byte; the events must match; leaves the whole run's events in g_cap. */
static void run_both(const script *s, bool close_peer) {
  free(run(s, true, close_peer, false));
  capture bytewise = g_cap;
  free(run(s, false, close_peer, false));
  CHECK_EQ(g_cap.n, bytewise.n);
  CHECK_EQ(g_cap.active, 0);
  CHECK_EQ(bytewise.active, 0);
  for (int i = 0; i < g_cap.n && i < bytewise.n && i < MAX_EVENTS; i++) {
    CHECK_EQ(g_cap.ev[i].status, bytewise.ev[i].status);
    CHECK_EQ(g_cap.ev[i].method, bytewise.ev[i].method);
    CHECK_EQ(g_cap.ev[i].route, bytewise.ev[i].route);
    CHECK_EQ(g_cap.ev[i].error, bytewise.ev[i].error);
    CHECK_EQ_U64(g_cap.ev[i].req_body, bytewise.ev[i].req_body);
    CHECK_EQ_U64(g_cap.ev[i].resp_body, bytewise.ev[i].resp_body);
    CHECK_EQ(g_cap.grpc[i], bytewise.grpc[i]);
    CHECK_EQ(g_cap.ev[i].rpc_status, bytewise.ev[i].rpc_status);
    CHECK_EQ(g_cap.ev[i].rpc_method, bytewise.ev[i].rpc_method);
  }
}

static const char *const k_get_users[] = {":method", "GET", ":scheme", "http", ":path", "/users/42?x=1",
                                           ":authority", "a", NULL};
static const char *const k_200[] = {":status", "200", "content-type", "text/plain", NULL};

/* ---- scenarios ---- */

static void test_get_200(void) {
  script *s = script_new();
  client_preface(s, RD);
  headers(s, RD, 1, 0x1, k_get_users, 0);
  server_settings(s, WR);
  headers(s, WR, 1, 0, k_200, 0);
  data(s, WR, 1, true, "hello", 5, -1);
  run_both(s, false);
  CHECK_EQ(g_cap.n, 1);
  sniff_event *e = &g_cap.ev[0];
  CHECK_EQ(e->method, SNIFF_GET);
  CHECK_EQ(e->status, 200);
  CHECK_EQ(e->version, 20);
  CHECK_EQ(e->route, 0);
  CHECK_EQ(e->port, 8443);
  CHECK_EQ(e->port_slot, 2);
  CHECK_EQ(e->scheme, SNIFF_HTTP);
  CHECK_EQ(e->error, SNIFF_ERR_NONE);
  CHECK_EQ_U64(e->req_body, 0);
  CHECK_EQ_U64(e->resp_body, 5);
  CHECK(e->duration > 0);
  script_free(s);
}

static void test_server_speaks_first(void) {
  script *s = script_new();
  server_settings(s, WR); /* node and nginx send their SETTINGS before reading anything */
  client_preface(s, RD);
  headers(s, RD, 1, 0x1, k_get_users, 0);
  headers(s, WR, 1, 0, k_200, 0);
  data(s, WR, 1, false, "hel", 3, -1);
  data(s, WR, 1, true, "lo", 2, -1);
  run_both(s, false);
  CHECK_EQ(g_cap.n, 1);
  CHECK_EQ(g_cap.ev[0].status, 200);
  CHECK_EQ_U64(g_cap.ev[0].resp_body, 5);
  script_free(s);

  /* the server spoke first, but not HTTP/2: not watched (as before) */
  sniff_conn *c = conn_new();
  sniff_write(c, (const uint8_t *)"220 smtp.example ESMTP\r\n", 24, 1);
  CHECK(!sniff_watching(c));
  CHECK_EQ(c->stop, SNIFF_STOP_UNEXPECTED);
  free(c);
  /* SETTINGS first, then the client says something else: stopped */
  s = script_new();
  server_settings(s, WR);
  emit(s, RD, "GET / HTTP/1.1\r\n\r\n", 18);
  c = run(s, false, false, true);
  CHECK(!sniff_watching(c));
  CHECK_EQ(g_cap.n, 0);
  free(c);
  script_free(s);
}

static void test_post_padded_continuation(void) {
  static const char *const req[] = {":method", "POST", ":scheme", "http", ":path", "/static/a/b.txt", ":authority",
                                    "example.com", "content-type", "application/octet-stream", "x-long",
                                    "0123456789012345678901234567890123456789", NULL};
  script *s = script_new();
  client_preface(s, RD);
  server_settings(s, WR);
  headers(s, RD, 3, 0, req, 7); /* HEADERS + several CONTINUATION */
  data(s, RD, 3, false, "hello ", 6, 10);
  data(s, RD, 3, true, "world", 5, 0);
  static const char *const created[] = {":status", "201", "location", "/static/a/b.txt", NULL};
  headers(s, WR, 3, 0, created, 3);
  data(s, WR, 3, false, "ok", 2, 200);
  static const char *const trailers[] = {"x-checksum", "abc", NULL};
  headers(s, WR, 3, 0x1, trailers, 0);
  run_both(s, false);
  CHECK_EQ(g_cap.n, 1);
  CHECK_EQ(g_cap.ev[0].method, SNIFF_POST);
  CHECK_EQ(g_cap.ev[0].status, 201);
  CHECK_EQ(g_cap.ev[0].route, 1);
  CHECK_EQ_U64(g_cap.ev[0].req_body, 11);
  CHECK_EQ_U64(g_cap.ev[0].resp_body, 2);
  script_free(s);
}

static void test_grpc_trailers(void) {
  static const char *const req[] = {":method", "POST", ":scheme", "http", ":path", "/pkg.Greeter/SayHello",
                                    ":authority", "a", "content-type", "application/grpc", "te", "trailers", NULL};
  static const char *const resp[] = {":status", "200", "content-type", "application/grpc", NULL};
  static const char *const ok[] = {"grpc-status", "7", "grpc-message", "denied", NULL};
  static const char *const only[] = {":status", "200", "content-type", "application/grpc", "grpc-status", "12",
                                     NULL};
  script *s = script_new();
  client_preface(s, RD);
  server_settings(s, WR);
  headers(s, RD, 1, 0, req, 0);
  data(s, RD, 1, true, "\0\0\0\0\3abc", 8, -1);
  headers(s, WR, 1, 0, resp, 0);
  data(s, WR, 1, false, "\0\0\0\0\2xy", 7, -1);
  headers(s, WR, 1, 0x1, ok, 0);
  headers(s, RD, 3, 0, req, 0); /* the same request again: indexed from the dynamic table */
  data(s, RD, 3, true, "\0\0\0\0\0", 5, -1);
  headers(s, WR, 3, 0x1, only, 0); /* trailers-only */
  run_both(s, false);
  CHECK_EQ(g_cap.n, 2);
  CHECK_EQ(g_cap.ev[0].status, 200);
  CHECK_EQ(g_cap.ev[0].route, 2);
  CHECK_EQ_U64(g_cap.ev[0].req_body, 8);
  CHECK_EQ_U64(g_cap.ev[0].resp_body, 7);
  CHECK_EQ(g_cap.grpc[0], 7);
  CHECK_EQ(g_cap.ev[1].route, 2);
  CHECK_EQ(g_cap.ev[1].status, 200);
  CHECK_EQ_U64(g_cap.ev[1].resp_body, 0);
  CHECK_EQ(g_cap.grpc[1], 12);
  script_free(s);
}

/* ---- gRPC calls ---- */

static const char *const k_grpc_resp[] = {":status", "200", "content-type", "application/grpc", NULL};

/* A gRPC request on stream sid to path with content-type ctype (NULL: none), END_STREAM with its message. */
static void grpc_request(script *s, uint32_t sid, const char *path, const char *ctype) {
  const char *const with[] = {":method", "POST", ":scheme", "http", ":path", path, ":authority", "a",
                              "content-type", ctype, "te", "trailers", NULL};
  const char *const without[] = {":method", "POST", ":scheme", "http", ":path", path, ":authority", "a", NULL};
  headers(s, RD, sid, 0, ctype ? with : without, 0);
  data(s, RD, sid, true, "\0\0\0\0\0", 5, -1);
}

/* A gRPC response with trailers grpc-status code (or trailers-only when only is set). */
static void grpc_response(script *s, uint32_t sid, const char *code, bool only) {
  const char *const trailers_only[] = {":status", "200", "content-type", "application/grpc", "grpc-status", code,
                                       NULL};
  const char *const trailers[] = {"grpc-status", code, NULL};
  if (only) {
    headers(s, WR, sid, 0x1, trailers_only, 0);
    return;
  }
  headers(s, WR, sid, 0, k_grpc_resp, 0);
  data(s, WR, sid, false, "\0\0\0\0\0", 5, -1);
  headers(s, WR, sid, 0x1, trailers, 0);
}

static script *grpc_script(void) {
  script *s = script_new();
  client_preface(s, RD);
  server_settings(s, WR);
  return s;
}

static const char *method_of(int i) { return sniff_rpc_method_name(g_cap.ev[i].rpc_method); }

static void test_grpc_calls(void) {
  sniff_rpc_methods_reset();
  script *s = grpc_script();
  grpc_request(s, 1, "/pkg.Greeter/Nope", "application/grpc");
  grpc_response(s, 1, "12", true);                      /* UNIMPLEMENTED: not recognised, never in the table */
  grpc_request(s, 3, "/pkg.Greeter/SayHello", "application/grpc+proto");
  grpc_response(s, 3, "0", false);                      /* OK: recognised */
  grpc_request(s, 5, "/pkg.Greeter/SayHello", "application/grpc");
  grpc_response(s, 5, "14", false);                     /* known now: found when the request ends */
  headers(s, RD, 7, 0x1, k_get_users, 0);               /* plain HTTP/2: not a call */
  headers(s, WR, 7, 0x1, k_200, 0);
  grpc_request(s, 9, "/pkg.Greeter/SayHello", NULL);    /* no content-type, but the response says grpc-status */
  grpc_response(s, 9, "3", true);
  grpc_request(s, 11, "/pkg.Greeter/SayHello", "application/grpc-web"); /* gRPC-Web: not followed as a call */
  headers(s, WR, 11, 0x1, k_200, 0);
  grpc_request(s, 13, "/pkg.Greeter/SayHello", "application/grpc"); /* a call the client resets */
  rst(s, RD, 13);
  grpc_request(s, 15, "/pkg.Greeter/Other", "application/grpc"); /* answered without grpc-status */
  headers(s, WR, 15, 0x1, k_grpc_resp, 0);
  grpc_request(s, 17, "/pkg.Greeter/Bad", "application/grpc");
  grpc_response(s, 17, "100", true);                    /* not a status (three digits): none */
  grpc_request(s, 19, "/pkg.Greeter/Custom", "application/grpc");
  grpc_response(s, 19, "42", false);                    /* a code beyond 16: recognised all the same */
  run_both(s, false);
  CHECK_EQ(g_cap.n, 10);
  CHECK_EQ(g_cap.ev[0].rpc_status, SNIFF_RPC_STATUS + 12);
  CHECK_EQ(g_cap.ev[0].rpc_method, 0);
  CHECK_STR(method_of(0), "_OTHER");
  CHECK_EQ(sniff_rpc_method_index("pkg.Greeter/Nope", 16, false), 0);
  CHECK_EQ(g_cap.ev[1].rpc_status, SNIFF_RPC_STATUS + 0);
  CHECK_STR(method_of(1), "pkg.Greeter/SayHello");
  CHECK_EQ(g_cap.ev[2].rpc_status, SNIFF_RPC_STATUS + 14);
  CHECK_EQ(g_cap.ev[2].rpc_method, g_cap.ev[1].rpc_method);
  CHECK_EQ(g_cap.ev[3].rpc_status, 0);
  CHECK_EQ(g_cap.ev[3].rpc_method, 0);
  CHECK_EQ(g_cap.ev[4].rpc_status, SNIFF_RPC_STATUS + 3);
  CHECK_STR(method_of(4), "pkg.Greeter/SayHello");
  CHECK_EQ(g_cap.ev[5].rpc_status, 0);
  CHECK_EQ(g_cap.ev[6].rpc_status, SNIFF_RPC_NO_STATUS);
  CHECK_EQ(g_cap.ev[6].error, SNIFF_ERR_RESPONSE_INCOMPLETE);
  CHECK_STR(method_of(6), "pkg.Greeter/SayHello");
  CHECK_EQ(g_cap.ev[7].rpc_status, SNIFF_RPC_NO_STATUS);
  CHECK_STR(method_of(7), "_OTHER");                    /* no status: not recognised */
  CHECK_EQ(g_cap.ev[8].rpc_status, SNIFF_RPC_NO_STATUS);
  CHECK_STR(method_of(8), "_OTHER");
  CHECK_EQ(g_cap.ev[9].rpc_status, SNIFF_RPC_STATUS + 42);
  CHECK_STR(method_of(9), "pkg.Greeter/Custom");
  for (int i = 0; i < 10; i++) CHECK_EQ(g_cap.ev[i].version, 20); /* the HTTP side is unchanged */
  script_free(s);
}

/* Which :path values give a method: the shape and the length bound. */
static void test_grpc_method_shape(void) {
  static const struct {
    const char *path, *want;
  } k[] = {
      {"/pkg.Greeter/SayHello", "pkg.Greeter/SayHello"},
      {"/Echo/Echo", "Echo/Echo"},
      {"/a.b_c.D9/_m1", "a.b_c.D9/_m1"},
      {"/pkg.Greeter/SayHello?x=1", NULL},
      {"/pkg.Greeter/Say/Hello", NULL},
      {"/pkg.Greeter/", NULL},
      {"//SayHello", NULL},
      {"/pkg..Greeter/M", NULL},
      {"/.pkg/M", NULL},
      {"/pkg./M", NULL},
      {"/9pkg/M", NULL},
      {"/pkg/9M", NULL},
      {"/pkg/M-1", NULL},
      {"/pkg/M.x", NULL},
      {"/pkg/M%2e", NULL},
      {"/p\xc3\xa9/M", NULL},
      {"pkg/M", NULL},
      {"/users/1", NULL},
      {"/", NULL},
  };
  size_t n = sizeof k / sizeof k[0];
  char longest[SNIFF_RPC_METHOD_MAX + 2], too_long[SNIFF_RPC_METHOD_MAX + 2];
  memset(longest, 'a', SNIFF_RPC_METHOD_MAX);
  longest[0] = '/', longest[SNIFF_RPC_METHOD_MAX - 2] = '/', longest[SNIFF_RPC_METHOD_MAX] = '\0';
  memcpy(too_long, longest, SNIFF_RPC_METHOD_MAX);
  too_long[SNIFF_RPC_METHOD_MAX] = 'a', too_long[SNIFF_RPC_METHOD_MAX + 1] = '\0';
  sniff_rpc_methods_reset();
  script *s = grpc_script();
  for (size_t i = 0; i < n; i++) {
    grpc_request(s, (uint32_t)(1 + 2 * i), k[i].path, "application/grpc");
    grpc_response(s, (uint32_t)(1 + 2 * i), "0", true);
  }
  grpc_request(s, (uint32_t)(1 + 2 * n), longest, "application/grpc");
  grpc_response(s, (uint32_t)(1 + 2 * n), "0", true);
  grpc_request(s, (uint32_t)(3 + 2 * n), too_long, "application/grpc");
  grpc_response(s, (uint32_t)(3 + 2 * n), "0", true);
  run_both(s, false);
  CHECK_EQ(g_cap.n, (int)n + 2);
  for (size_t i = 0; i < n && (int)i < g_cap.n; i++) {
    CHECK_STR(method_of((int)i), k[i].want ? k[i].want : "_OTHER");
    CHECK_EQ(g_cap.ev[i].rpc_status, SNIFF_RPC_STATUS);
  }
  CHECK_STR(method_of((int)n), longest + 1);
  CHECK_STR(method_of((int)n + 1), "_OTHER");
  script_free(s);
}

/* At most SNIFF_RPC_METHODS methods per process; at most SNIFF_H2_RPC_PENDING unknown ones at once per
 * connection. */
static void test_grpc_method_bounds(void) {
  sniff_rpc_methods_reset();
  /* nine calls at once to methods not in the table: the ninth has no pending buffer and stays _OTHER */
  script *s = grpc_script();
  char paths[SNIFF_H2_RPC_PENDING + 1][32];
  for (int i = 0; i <= SNIFF_H2_RPC_PENDING; i++) {
    snprintf(paths[i], sizeof paths[i], "/pkg.S/M%d", i);
    grpc_request(s, (uint32_t)(1 + 2 * i), paths[i], "application/grpc");
  }
  for (int i = 0; i <= SNIFF_H2_RPC_PENDING; i++) grpc_response(s, (uint32_t)(1 + 2 * i), "0", true);
  grpc_request(s, 99, paths[0], "application/grpc"); /* buffers are given back: a later call is found */
  grpc_response(s, 99, "0", true);
  free(run(s, false, false, false)); /* once: a second run would find the methods the first one entered */
  CHECK_EQ(g_cap.n, SNIFF_H2_RPC_PENDING + 2);
  for (int i = 0; i < SNIFF_H2_RPC_PENDING; i++) CHECK_STR(method_of(i), paths[i] + 1);
  CHECK_STR(method_of(SNIFF_H2_RPC_PENDING), "_OTHER");
  CHECK_STR(method_of(SNIFF_H2_RPC_PENDING + 1), paths[0] + 1);
  script_free(s);

  /* the table: SNIFF_RPC_METHODS names, then no more; those in it stay */
  sniff_rpc_methods_reset();
  char name[32];
  for (int i = 0; i < SNIFF_RPC_METHODS; i++) {
    int n = snprintf(name, sizeof name, "pkg.S/M%d", i);
    CHECK(sniff_rpc_method_index(name, (size_t)n, true) != 0);
  }
  CHECK_EQ(sniff_rpc_method_index("pkg.S/Extra", 11, true), 0);
  CHECK_EQ(sniff_rpc_method_index("pkg.S/M7", 8, false), sniff_rpc_method_index("pkg.S/M7", 8, true));
  CHECK_STR(sniff_rpc_method_name(sniff_rpc_method_index("pkg.S/M7", 8, false)), "pkg.S/M7");
  CHECK_STR(sniff_rpc_method_name(0), "_OTHER");
  CHECK_STR(sniff_rpc_method_name(60000), "_OTHER");
  s = grpc_script();
  grpc_request(s, 1, "/pkg.S/Late", "application/grpc");
  grpc_response(s, 1, "0", false);
  grpc_request(s, 3, "/pkg.S/M3", "application/grpc");
  grpc_response(s, 3, "0", false);
  run_both(s, false);
  CHECK_EQ(g_cap.n, 2);
  CHECK_STR(method_of(0), "_OTHER");
  CHECK_STR(method_of(1), "pkg.S/M3");
  script_free(s);
  sniff_rpc_methods_reset();
}

static void test_multiplexed_out_of_order(void) {
  static const char *const a[] = {":method", "GET", ":scheme", "http", ":path", "/users/1", ":authority", "a", NULL};
  static const char *const b[] = {":method", "DELETE", ":scheme", "http", ":path", "/nothing", ":authority", "a",
                                  NULL};
  static const char *const st404[] = {":status", "404", NULL};
  static const char *const st103[] = {":status", "103", "link", "</x.css>", NULL};
  script *s = script_new();
  client_preface(s, RD);
  server_settings(s, WR);
  headers(s, RD, 1, 0x1, a, 0);
  headers(s, RD, 3, 0x1, b, 0);
  headers(s, WR, 3, 0, st103, 0); /* interim */
  headers(s, WR, 3, 0x1, st404, 0);
  headers(s, WR, 1, 0, k_200, 0);
  data(s, WR, 1, true, "0123456789", 10, -1);
  run_both(s, false);
  CHECK_EQ(g_cap.n, 2);
  CHECK_EQ(g_cap.ev[0].method, SNIFF_DELETE);
  CHECK_EQ(g_cap.ev[0].status, 404);
  CHECK_EQ(g_cap.ev[0].route, -1);
  CHECK_EQ(g_cap.ev[1].method, SNIFF_GET);
  CHECK_EQ(g_cap.ev[1].status, 200);
  CHECK_EQ_U64(g_cap.ev[1].resp_body, 10);
  script_free(s);
}

static void test_resets_and_close(void) {
  static const char *const post[] = {":method", "POST", ":scheme", "http", ":path", "/u", ":authority", "a", NULL};
  script *s = script_new();
  client_preface(s, RD);
  server_settings(s, WR);
  headers(s, RD, 1, 0, post, 0);
  data(s, RD, 1, false, "abc", 3, -1);
  rst(s, RD, 1); /* the client gave up mid-request */
  headers(s, RD, 3, 0x1, k_get_users, 0);
  headers(s, WR, 3, 0, k_200, 0);
  data(s, WR, 3, false, "part", 4, -1);
  rst(s, WR, 3); /* the server gave up mid-response */
  headers(s, RD, 5, 0, post, 0);
  rst(s, WR, 5); /* the server refused the stream before reading the body */
  headers(s, RD, 7, 0x1, k_get_users, 0);
  headers(s, WR, 7, 0, k_200, 0); /* then the connection closes */
  headers(s, RD, 9, 0, post, 0);
  run_both(s, true);
  CHECK_EQ(g_cap.n, 5);
  CHECK_EQ(g_cap.ev[0].error, SNIFF_ERR_REQUEST_ABORTED);
  CHECK_EQ(g_cap.ev[0].status, 0);
  CHECK_EQ_U64(g_cap.ev[0].req_body, 3);
  CHECK_EQ(g_cap.ev[1].error, SNIFF_ERR_RESPONSE_INCOMPLETE);
  CHECK_EQ(g_cap.ev[1].status, 200);
  CHECK_EQ_U64(g_cap.ev[1].resp_body, 4);
  CHECK_EQ(g_cap.ev[2].error, SNIFF_ERR_REQUEST_INCOMPLETE);
  /* at the close (the peer closed first): stream 7 answered in part, stream 9 still sending */
  int resp_inc = 0, aborted = 0;
  for (int i = 3; i < 5; i++) {
    if (g_cap.ev[i].error == SNIFF_ERR_RESPONSE_INCOMPLETE && g_cap.ev[i].status == 200) resp_inc++;
    if (g_cap.ev[i].error == SNIFF_ERR_REQUEST_ABORTED && g_cap.ev[i].status == 0) aborted++;
  }
  CHECK_EQ(resp_inc, 1);
  CHECK_EQ(aborted, 1);
  script_free(s);
}

static void test_tls(void) {
  script *s = script_new();
  emit(s, RD_RAW_TLS, "\x16\x03\x01\x00\x05hello", 10); /* a ClientHello's first bytes: raw reads are ciphertext */
  server_settings(s, WR_TLS);                          /* after the handshake, the server speaks first */
  client_preface(s, RD_TLS);
  headers(s, RD_TLS, 1, 0x1, k_get_users, 0);
  emit(s, RD_RAW_TLS, "\x17\x03\x03\x00\x10", 5); /* ciphertext under SSL_read: ignored */
  headers(s, WR_TLS, 1, 0, k_200, 0);
  data(s, WR_TLS, 1, true, "hi", 2, -1);
  run_both(s, false);
  CHECK_EQ(g_cap.n, 1);
  CHECK_EQ(g_cap.ev[0].scheme, SNIFF_HTTPS);
  CHECK_EQ(g_cap.ev[0].status, 200);
  CHECK_EQ(g_cap.ev[0].version, 20);
  script_free(s);
  /* the client's preface first (a server that waits for it) */
  s = script_new();
  emit(s, RD_RAW_TLS, "\x16\x03\x01", 3);
  client_preface(s, RD_TLS);
  headers(s, RD_TLS, 1, 0x1, k_get_users, 0);
  server_settings(s, WR_TLS);
  headers(s, WR_TLS, 1, 0x1, k_200, 0);
  run_both(s, false);
  CHECK_EQ(g_cap.n, 1);
  CHECK_EQ(g_cap.ev[0].scheme, SNIFF_HTTPS);
  script_free(s);
}

static void test_header_table_size_setting(void) {
  script *s = script_new();
  emit(s, RD, k_preface, 24);
  uint8_t set[6] = {0, 1, 0, 0, 0, 0}; /* the client: HEADER_TABLE_SIZE 0 */
  frame(s, RD, 4, 0, 0, set, 6);
  server_settings(s, WR);
  nghttp2_hd_deflate_change_table_size(s->server_enc, 0); /* the server's encoder obeys: a size update */
  for (uint32_t sid = 1; sid <= 7; sid += 2) {
    headers(s, RD, sid, 0x1, k_get_users, 0);
    headers(s, WR, sid, 0x1, k_200, 0);
  }
  run_both(s, false);
  CHECK_EQ(g_cap.n, 4);
  for (int i = 0; i < 4; i++) CHECK_EQ(g_cap.ev[i].status, 200);
  script_free(s);
}

static void test_bounds(void) {
  /* more streams at once than the table holds: the extra ones are not measured, nothing breaks */
  script *s = script_new();
  client_preface(s, RD);
  server_settings(s, WR);
  for (uint32_t i = 0; i < SNIFF_H2_STREAMS + 10; i++) headers(s, RD, 1 + 2 * i, 0x1, k_get_users, 0);
  for (uint32_t i = 0; i < SNIFF_H2_STREAMS + 10; i++) headers(s, WR, 1 + 2 * i, 0x1, k_200, 0);
  sniff_conn *c = run(s, false, false, false);
  CHECK_EQ(g_cap.n, SNIFF_H2_STREAMS - 1);
  CHECK_EQ(g_cap.active, 0);
  free(c);
  script_free(s);

  /* a header field larger than the arena: the watching stops, the counts come back */
  char *big = malloc(300000);
  memset(big, 'x', 299999);
  big[299999] = '\0';
  const char *const huge[] = {":method", "GET", ":scheme", "http", ":path", "/", ":authority", "a", "cookie", big,
                              NULL};
  s = script_new();
  client_preface(s, RD);
  headers(s, RD, 1, 0x1, k_get_users, 0);
  headers(s, RD, 3, 0x1, huge, 16384);
  c = run(s, false, false, true);
  CHECK(!sniff_watching(c));
  CHECK_EQ(g_cap.active, 0);
  CHECK_EQ(g_cap.n, 0);
  sniff_close(c, 100);
  free(c);
  free(big);
  script_free(s);

  /* many sequential streams with header values of changing sizes: the arena is reused, not exhausted */
  s = script_new();
  client_preface(s, RD);
  server_settings(s, WR);
  char val[3000];
  for (uint32_t i = 0; i < 400; i++) {
    size_t n = 1 + (i * 7919u) % (sizeof val - 1);
    memset(val, 'a' + (char)(i % 26), n);
    val[n] = '\0';
    char path[32];
    snprintf(path, sizeof path, "/users/%u", i);
    const char *const req[] = {":method", "GET", ":scheme", "http", ":path", path, ":authority", "a",
                               i % 2 ? "x-a" : "x-b", val, NULL};
    headers(s, RD, 1 + 2 * i, 0x1, req, 0);
    const char *const resp[] = {":status", "200", "x-c", val, NULL};
    headers(s, WR, 1 + 2 * i, 0x1, resp, 0);
    cut(s);
  }
  c = run(s, false, false, true);
  CHECK(sniff_watching(c));
  CHECK_EQ(g_cap.n, 400);
  sniff_close(c, 1000);
  CHECK_EQ(g_cap.active, 0);
  free(c);
  script_free(s);
}

static void test_protocol_errors_stop(void) {
  /* CONTINUATION without HEADERS */
  script *s = script_new();
  client_preface(s, RD);
  headers(s, RD, 1, 0, k_get_users, 0); /* a request still open (no END_STREAM) */
  frame(s, RD, 9, 0x4, 1, "\x82", 1);
  sniff_conn *c = run(s, false, false, true);
  CHECK(!sniff_watching(c));
  CHECK_EQ(g_cap.active, 0);
  CHECK_EQ(g_cap.n, 0);
  sniff_close(c, 9);
  free(c);
  script_free(s);
  /* an HPACK block that does not decode (index 0 is invalid) */
  s = script_new();
  client_preface(s, RD);
  frame(s, RD, 1, 0x5, 1, "\x80", 1);
  c = run(s, false, false, true);
  CHECK(!sniff_watching(c));
  sniff_close(c, 9);
  free(c);
  script_free(s);
  /* padding longer than the frame */
  s = script_new();
  client_preface(s, RD);
  frame(s, RD, 0, 0x8, 1, "\x09" "abc", 4);
  c = run(s, false, false, true);
  CHECK(!sniff_watching(c));
  sniff_close(c, 9);
  free(c);
  script_free(s);
}

static void test_http1_unchanged_by_preface_prefix(void) {
  /* "P", then "OST ...": the bytes held as a possible preface go to the HTTP/1 parser */
  sniff_conn *c = conn_new();
  sniff_read(c, (const uint8_t *)"P", 1, 1);
  const char *rest = "OST /users/1 HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi";
  sniff_read(c, (const uint8_t *)rest, strlen(rest), 2);
  const char *resp = "HTTP/1.1 204 No Content\r\n\r\n";
  sniff_write(c, (const uint8_t *)resp, strlen(resp), 3);
  CHECK_EQ(g_cap.n, 1);
  CHECK_EQ(g_cap.ev[0].method, SNIFF_POST);
  CHECK_EQ(g_cap.ev[0].version, 11);
  CHECK_EQ_U64(g_cap.ev[0].req_body, 2);
  sniff_close(c, 4);
  free(c);
  /* "PRI * HTTP/2.0\r\n" in pieces, then the rest of the preface */
  c = conn_new();
  sniff_read(c, (const uint8_t *)"PRI * HT", 8, 1);
  sniff_read(c, (const uint8_t *)"TP/2.0\r\n\r\nSM\r\n\r\n", 16, 2);
  CHECK_EQ(c->mode, SNIFF_MODE_H2);
  sniff_close(c, 3);
  free(c);
}

int main(void) {
  RUN(test_get_200);
  RUN(test_server_speaks_first);
  RUN(test_post_padded_continuation);
  RUN(test_grpc_trailers);
  RUN(test_grpc_calls);
  RUN(test_grpc_method_shape);
  RUN(test_grpc_method_bounds);
  RUN(test_multiplexed_out_of_order);
  RUN(test_resets_and_close);
  RUN(test_tls);
  RUN(test_header_table_size_setting);
  RUN(test_bounds);
  RUN(test_protocol_errors_stop);
  RUN(test_http1_unchanged_by_preface_prefix);
  return test_finish();
}
