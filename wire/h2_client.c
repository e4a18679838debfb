/* h2_client.c — the HTTP/2 engine of the synchronous client (wire_h2_* in http_client.h), through nghttp2.
 *
 * One session per connection, one stream at a time: wire_h2_roundtrip submits a request, then alternates
 * "write whatever nghttp2 wants to send" and "read one chunk from the connection and feed it to nghttp2" until
 * the stream closes or the deadline passes. Request bodies go through a data provider, so flow control paces
 * large bodies (the loop blocks in read until the peer's WINDOW_UPDATE arrives). Frames are gathered into an
 * output buffer and written in large writes (one TLS record per 64 KiB rather than per frame).
 *
 * The session is not reused after anything that leaves it in doubt: a transport error, a timeout in the middle
 * of a stream, a connection-level protocol error or a GOAWAY (wire_h2_client_usable turns false and the client
 * front reconnects). A stream reset by the peer (RST_STREAM) fails only that request. */
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wire/clock.h"
#include "wire/http_client.h"

#define OUT_FLUSH_BYTES (64 * 1024)
#define READ_CHUNK (32 * 1024)
#define STREAM_WINDOW (1 << 20)      /* our receive window per stream */
#define CONNECTION_WINDOW (16 << 20) /* and for the whole connection */

struct wire_h2_client {
  nghttp2_session *session;
  wire_conn *conn;
  bool broken;          /* the session must not carry another request */
  int64_t deadline_ns;  /* of the call in progress, for writes made from callbacks */
  wire_err io_err;      /* the transport error behind a callback failure */
  bool io_failed;
  wire_buf out;         /* serialised frames waiting for one write */

  /* the stream in flight */
  int32_t stream_id;
  wire_http_response *resp;
  const uint8_t *body;
  size_t body_len, body_off;
  bool final_headers;   /* a non-1xx :status arrived */
  bool end_stream;      /* the peer finished the response */
  bool closed;          /* nghttp2 closed the stream */
  uint32_t close_code;
  bool failed;          /* a limit or malformed header failed the stream */
  wire_err stream_err;

  uint8_t rbuf[READ_CHUNK];
};

/* --- output --- */

static int out_flush(wire_h2_client *h) {
  if (h->out.len == 0) return 0;
  int rc = wire_conn_write_all(h->conn, h->out.data, h->out.len, h->deadline_ns, &h->io_err);
  h->out.len = 0;
  if (rc < 0) {
    h->io_failed = true;
    h->broken = true;
  }
  return rc;
}

static int out_add(wire_h2_client *h, const uint8_t *p, size_t n) {
  if (h->out.len + n > OUT_FLUSH_BYTES && out_flush(h) < 0) return -1;
  if (n >= OUT_FLUSH_BYTES) { /* big enough to write as it is */
    if (wire_conn_write_all(h->conn, p, n, h->deadline_ns, &h->io_err) < 0) {
      h->io_failed = true;
      h->broken = true;
      return -1;
    }
    return 0;
  }
  if (wire_buf_append(&h->out, p, n, &h->io_err) < 0) {
    h->io_failed = true;
    h->broken = true;
    return -1;
  }
  return 0;
}

static ssize_t send_cb(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *ud) {
  (void)s;
  (void)flags;
  return out_add(ud, data, len) < 0 ? NGHTTP2_ERR_CALLBACK_FAILURE : (ssize_t)len;
}

/* DATA frames of the request body are written from the caller's buffer (NGHTTP2_DATA_FLAG_NO_COPY): the frame
 * header and the payload go into the output buffer, one copy in all. */
static int send_data_cb(nghttp2_session *s, nghttp2_frame *frame, const uint8_t *framehd, size_t length,
                        nghttp2_data_source *source, void *ud) {
  (void)s;
  (void)source;
  wire_h2_client *h = ud;
  if (frame->data.padlen > 0) return NGHTTP2_ERR_CALLBACK_FAILURE; /* we never ask for padding */
  if (out_add(h, framehd, 9) < 0) return NGHTTP2_ERR_CALLBACK_FAILURE;
  if (length && out_add(h, h->body + h->body_off, length) < 0) return NGHTTP2_ERR_CALLBACK_FAILURE;
  h->body_off += length;
  return 0;
}

static ssize_t body_read_cb(nghttp2_session *s, int32_t stream_id, uint8_t *buf, size_t length, uint32_t *flags,
                            nghttp2_data_source *source, void *ud) {
  (void)s;
  (void)stream_id;
  (void)buf;
  (void)source;
  wire_h2_client *h = ud;
  /* body_off advances in send_data_cb; nghttp2 asks for the next frame only after sending the previous one. */
  size_t left = h->body_len - h->body_off;
  size_t n = left < length ? left : length;
  *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
  if (n == left) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return (ssize_t)n;
}

/* --- input --- */

/* Fails the stream in flight with e's class and message, prefixed by what failed. */
static void stream_fail(wire_h2_client *h, const wire_err *e, const char *what) {
  if (h->failed) return;
  h->failed = true;
  h->stream_err = *e;
  wire_err_prefix(&h->stream_err, "h2: %s: ", what);
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *frame, void *ud) {
  (void)s;
  wire_h2_client *h = ud;
  if (frame->hd.type != NGHTTP2_HEADERS || frame->hd.stream_id != h->stream_id || !h->resp) return 0;
  if (!h->final_headers) { /* a (new) response header block: an earlier 1xx block is forgotten */
    wire_headers_reset(&h->resp->headers);
    h->resp->status = 0;
  }
  return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *ud) {
  (void)s;
  (void)flags;
  wire_h2_client *h = ud;
  if (frame->hd.type != NGHTTP2_HEADERS || frame->hd.stream_id != h->stream_id || !h->resp || h->failed) return 0;
  wire_http_response *r = h->resp;
  if (namelen > 0 && name[0] == ':') {
    if (namelen == 7 && memcmp(name, ":status", 7) == 0 && !h->final_headers) {
      int st = 0;
      for (size_t i = 0; i < valuelen && i < 4; i++) st = st * 10 + (value[i] - '0');
      r->status = st; /* nghttp2's HTTP messaging checks already guarantee 3 digits */
    }
    return 0;
  }
  wire_headers *dst = h->final_headers ? &r->trailers : &r->headers;
  wire_err e;
  if (wire_headers_add(dst, (const char *)name, namelen, (const char *)value, valuelen, &e) < 0) {
    stream_fail(h, &e, h->final_headers ? "response trailers" : "response headers");
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* nghttp2 resets the stream */
  }
  return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *frame, void *ud) {
  (void)s;
  wire_h2_client *h = ud;
  switch (frame->hd.type) {
  case NGHTTP2_HEADERS:
    if (frame->hd.stream_id != h->stream_id || !h->resp) break;
    if (!h->final_headers && h->resp->status >= 200) h->final_headers = true;
    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) h->end_stream = true;
    break;
  case NGHTTP2_DATA:
    if (frame->hd.stream_id == h->stream_id && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) h->end_stream = true;
    break;
  case NGHTTP2_GOAWAY:
    h->broken = true; /* no new streams; the one in flight may still finish if the peer processes it */
    break;
  default:
    break;
  }
  return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t stream_id, const uint8_t *data, size_t len,
                         void *ud) {
  (void)s;
  (void)flags;
  wire_h2_client *h = ud;
  if (stream_id != h->stream_id || !h->resp || h->failed) return 0;
  wire_err e;
  if (wire_buf_append(&h->resp->body, data, len, &e) < 0) {
    if (e.code == WIRE_E_LIMIT)
      wire_err_set(&e, WIRE_E_LIMIT, "exceeds the limit of %zu bytes", h->resp->body.limit);
    stream_fail(h, &e, "response body");
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t stream_id, uint32_t error_code, void *ud) {
  (void)s;
  wire_h2_client *h = ud;
  if (stream_id != h->stream_id) return 0;
  h->closed = true;
  h->close_code = error_code;
  return 0;
}

/* --- session --- */

wire_h2_client *wire_h2_client_new(wire_conn *c, wire_err *err) {
  wire_h2_client *h = calloc(1, sizeof *h);
  if (!h) {
    wire_err_set(err, WIRE_E_NOMEM, "h2: out of memory");
    return NULL;
  }
  h->conn = c;
  wire_buf_init(&h->out, 0);
  nghttp2_session_callbacks *cbs;
  if (nghttp2_session_callbacks_new(&cbs) != 0) {
    free(h);
    wire_err_set(err, WIRE_E_NOMEM, "h2: out of memory");
    return NULL;
  }
  nghttp2_session_callbacks_set_send_callback(cbs, send_cb);
  nghttp2_session_callbacks_set_send_data_callback(cbs, send_data_cb);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
  int rv = nghttp2_session_client_new(&h->session, cbs, h);
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) {
    free(h);
    wire_err_set(err, WIRE_E_NOMEM, "h2: cannot create session: %s", nghttp2_strerror(rv));
    return NULL;
  }
  nghttp2_settings_entry iv[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 256 * 1024},
  };
  rv = nghttp2_submit_settings(h->session, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]);
  if (rv == 0) rv = nghttp2_session_set_local_window_size(h->session, NGHTTP2_FLAG_NONE, 0, CONNECTION_WINDOW);
  if (rv != 0) {
    wire_err_set(err, WIRE_E_NOMEM, "h2: cannot queue SETTINGS: %s", nghttp2_strerror(rv));
    wire_h2_client_free(h);
    return NULL;
  }
  /* The preface and SETTINGS go out with the first request (this call has no deadline to write under). */
  return h;
}

void wire_h2_client_free(wire_h2_client *h) {
  if (!h) return;
  nghttp2_session_del(h->session);
  wire_buf_free(&h->out);
  free(h);
}

/* Lets nghttp2 serialise everything it wants to send and writes it. */
static int session_flush(wire_h2_client *h, wire_err *err) {
  h->io_failed = false;
  int rv = nghttp2_session_send(h->session);
  if (rv == 0) {
    if (out_flush(h) == 0) return 0;
  }
  h->broken = true;
  if (h->io_failed) {
    if (err) *err = h->io_err;
    return -1;
  }
  return wire_err_set(err, WIRE_E_PROTOCOL, "h2: cannot send: %s", nghttp2_strerror(rv));
}

/* Feeds n received bytes to nghttp2. */
static int session_input(wire_h2_client *h, size_t n, wire_err *err) {
  ssize_t rv = nghttp2_session_mem_recv(h->session, h->rbuf, n);
  if (rv < 0) {
    h->broken = true;
    return wire_err_set(err, WIRE_E_PROTOCOL, "h2: connection error: %s", nghttp2_strerror((int)rv));
  }
  return 0;
}

/* Reads whatever the peer sent while the session was idle (SETTINGS, PING, WINDOW_UPDATE, GOAWAY) without
 * blocking, so that a GOAWAY or a close is noticed before a request is sent. */
static void session_drain_idle(wire_h2_client *h) {
  for (int rounds = 0; rounds < 16 && !h->broken; rounds++) {
    struct pollfd p = {.fd = wire_conn_fd(h->conn), .events = POLLIN};
    if (poll(&p, 1, 0) <= 0) return;
    if (p.revents & (POLLERR | POLLNVAL)) {
      h->broken = true;
      return;
    }
    wire_err e;
    /* Readable TLS may hold no application data (session tickets): a short deadline keeps this non-blocking. */
    ssize_t n = wire_conn_read(h->conn, h->rbuf, sizeof h->rbuf, wire_now_ns() + 1000000, &e);
    if (n == 0 || (n < 0 && e.code != WIRE_E_TIMEOUT)) {
      h->broken = true;
      return;
    }
    if (n < 0) return;
    if (session_input(h, (size_t)n, &e) < 0) return;
  }
}

bool wire_h2_client_usable(const wire_h2_client *hc) {
  wire_h2_client *h = (wire_h2_client *)hc; /* draining pending input changes state, not meaning */
  if (!h || h->broken) return false;
  session_drain_idle(h);
  return !h->broken && nghttp2_session_check_request_allowed(h->session) && nghttp2_session_want_read(h->session);
}

/* Connection-specific fields must not appear in HTTP/2 (RFC 9113 8.2.2); Host becomes :authority. */
static bool skip_request_header(const wire_header *hd) {
  static const char *const drop[] = {"connection", "keep-alive", "proxy-connection", "transfer-encoding",
                                     "upgrade",    "host",       "content-length"};
  if (hd->name_len == 0 || hd->name[0] == ':') return true;
  for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
    if (strcmp(hd->name, drop[i]) == 0) return true;
  if (strcmp(hd->name, "te") == 0 && strcasecmp(hd->value, "trailers") != 0) return true;
  return false;
}

static nghttp2_nv make_nv(const char *name, size_t nlen, const char *value, size_t vlen) {
  nghttp2_nv nv = {(uint8_t *)name, (uint8_t *)value, nlen, vlen, NGHTTP2_NV_FLAG_NONE};
  return nv;
}

/* Turns the end state of a stream into the call's result. */
static int stream_result(wire_h2_client *h, wire_err *err) {
  if (h->failed) {
    if (err) *err = h->stream_err;
    return -1;
  }
  if (h->end_stream && h->final_headers) return 0;
  if (h->close_code == NGHTTP2_REFUSED_STREAM)
    /* not processed by the peer (RFC 9113 8.7): safe to send again on a new connection */
    return wire_err_set(err, WIRE_E_IO, "h2: stream refused by the server (not processed)");
  if (h->close_code != NGHTTP2_NO_ERROR)
    return wire_err_set(err, WIRE_E_PROTOCOL, "h2: stream reset by the server: %s",
                        nghttp2_http2_strerror(h->close_code));
  return wire_err_set(err, WIRE_E_PROTOCOL, "h2: stream closed before a complete response");
}

int wire_h2_roundtrip(wire_h2_client *h, const wire_http_request *req, wire_http_response *resp, int64_t deadline_ns,
                      wire_err *err) {
  if (h->broken || !nghttp2_session_check_request_allowed(h->session))
    return wire_err_set(err, WIRE_E_IO, "h2: session can take no more requests");
  h->deadline_ns = deadline_ns;

  /* pseudo-headers, then the caller's fields, then content-length */
  size_t nmax = req->headers.n + 5;
  nghttp2_nv nvbuf[32];
  nghttp2_nv *nva = nmax <= sizeof nvbuf / sizeof nvbuf[0] ? nvbuf : malloc(nmax * sizeof *nva);
  if (!nva) return wire_err_set(err, WIRE_E_NOMEM, "h2: out of memory");
  size_t nvlen = 0;
  const char *scheme = req->scheme ? req->scheme : (wire_conn_is_tls(h->conn) ? "https" : "http");
  const char *authority = req->authority ? req->authority : wire_headers_get(&req->headers, "host");
  const char *path = req->path && req->path[0] ? req->path : "/";
  nva[nvlen++] = make_nv(":method", 7, req->method, strlen(req->method));
  nva[nvlen++] = make_nv(":scheme", 7, scheme, strlen(scheme));
  if (authority) nva[nvlen++] = make_nv(":authority", 10, authority, strlen(authority));
  nva[nvlen++] = make_nv(":path", 5, path, strlen(path));
  for (size_t i = 0; i < req->headers.n; i++) {
    const wire_header *hd = &req->headers.v[i];
    if (!skip_request_header(hd)) nva[nvlen++] = make_nv(hd->name, hd->name_len, hd->value, hd->value_len);
  }
  char clen[24];
  bool has_body = req->body.len > 0;
  if (has_body || strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0) {
    int n = snprintf(clen, sizeof clen, "%zu", req->body.len);
    nva[nvlen++] = make_nv("content-length", 14, clen, (size_t)n);
  }

  h->resp = resp;
  h->body = req->body.data;
  h->body_len = req->body.len;
  h->body_off = 0;
  h->final_headers = h->end_stream = h->closed = h->failed = false;
  h->close_code = 0;
  nghttp2_data_provider prd = {.source.ptr = NULL, .read_callback = body_read_cb};
  int32_t id = nghttp2_submit_request(h->session, NULL, nva, nvlen, has_body ? &prd : NULL, NULL);
  if (nva != nvbuf) free(nva);
  if (id < 0) {
    h->resp = NULL;
    return wire_err_set(err, id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE ? WIRE_E_IO : WIRE_E_INVALID,
                        "h2: cannot submit the request: %s", nghttp2_strerror(id));
  }
  h->stream_id = id;

  int rc = 0;
  while (!h->closed && !h->end_stream) {
    if (session_flush(h, err) < 0) {
      rc = -1;
      break;
    }
    if (h->closed) break;
    if (!nghttp2_session_want_read(h->session) && !nghttp2_session_want_write(h->session)) {
      h->broken = true;
      rc = wire_err_set(err, WIRE_E_PROTOCOL, "h2: session ended before the response");
      break;
    }
    ssize_t n = wire_conn_read(h->conn, h->rbuf, sizeof h->rbuf, deadline_ns, err);
    if (n <= 0) {
      h->broken = true;
      if (n == 0) wire_err_set(err, WIRE_E_IO, "h2: connection closed by the server before the response");
      else if (err && err->code == WIRE_E_TIMEOUT) wire_err_prefix(err, "h2: waiting for the response: ");
      rc = -1;
      break;
    }
    if (session_input(h, (size_t)n, err) < 0) {
      rc = -1;
      break;
    }
  }
  if (rc == 0 && !h->closed) {
    /* The server answered before taking the whole request body (RFC 9113 8.1): stop sending it. */
    nghttp2_submit_rst_stream(h->session, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
  }
  if (rc == 0) {
    rc = stream_result(h, err);
    /* Acknowledgements and window updates the last read produced: best effort, they also go out next time. */
    if (!h->broken) {
      wire_err ignored;
      session_flush(h, &ignored);
    }
  }
  h->resp = NULL;
  h->body = NULL;
  h->stream_id = 0;
  return rc;
}
