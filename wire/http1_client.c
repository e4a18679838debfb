/* http1_client.c — one HTTP/1.1 request/response over a client connection (wire_h1_roundtrip, http_client.h).
 *
 * The request goes out as one write when its body is small (head and body in one buffer), else as two; the
 * client adds only what HTTP/1.1 needs or the caller cannot know: Host (from req->authority), Content-Length
 * (for any body, and 0 for body-carrying methods without one) and, when absent, User-Agent. The response is read
 * with the HTTP/1.x parser into resp: 1xx interim responses (100 Continue, 103 Early Hints) are skipped, bodies
 * are framed by Content-Length, chunked (trailers go to resp->trailers) or the connection close; a HEAD
 * response has no body. Header and body limits come from resp (wire_http_response_init) and fail with
 * WIRE_E_LIMIT. The connection is reusable when the response was complete, keep-alive, and nothing followed it.
 * When the server answers before the whole request was written (an early 413) and then resets the connection,
 * the response that did arrive is returned rather than the write error. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wire/http1.h"
#include "wire/http_client.h"

#define ONE_WRITE_MAX (64 * 1024) /* bodies up to this size are copied behind the head: one write, one segment */
#define READ_CHUNK (16 * 1024)
#define USER_AGENT "otelc/0.1.0"

typedef struct h1_reader {
  wire_http_response *resp;
  bool head;          /* the request was HEAD */
  bool interim;       /* the message being read is a 1xx */
  bool done;          /* the final response is complete */
  bool failed;
  wire_err err;       /* why a callback stopped the parser */
} h1_reader;

static int rd_status(wire_h1_parser *p, int version, int status, const char *reason, size_t rl) {
  h1_reader *r = p->user;
  r->interim = status < 200 && status != 101;
  r->resp->status = status;
  r->resp->version = version == 10 ? WIRE_HTTP_10 : WIRE_HTTP_11;
  return 0;
}

static int rd_header(wire_h1_parser *p, const char *n, size_t nl, const char *v, size_t vl) {
  h1_reader *r = p->user;
  if (r->interim) return 0; /* headers of 1xx responses (Link of 103) are not kept */
  if (wire_headers_add(&r->resp->headers, n, nl, v, vl, &r->err) < 0) {
    wire_err_prefix(&r->err, "http1 response: ");
    r->failed = true;
    return -1;
  }
  return 0;
}

static int rd_headers_complete(wire_h1_parser *p) {
  h1_reader *r = p->user;
  return r->head && !r->interim ? WIRE_H1_SKIP_BODY : 0;
}

static int rd_body(wire_h1_parser *p, const uint8_t *d, size_t n) {
  h1_reader *r = p->user;
  if (wire_buf_append(&r->resp->body, d, n, &r->err) < 0) {
    wire_err_prefix(&r->err, "http1 response body: ");
    r->failed = true;
    return -1;
  }
  return 0;
}

static int rd_trailer(wire_h1_parser *p, const char *n, size_t nl, const char *v, size_t vl) {
  h1_reader *r = p->user;
  if (wire_headers_add(&r->resp->trailers, n, nl, v, vl, &r->err) < 0) {
    wire_err_prefix(&r->err, "http1 response trailers: ");
    r->failed = true;
    return -1;
  }
  return 0;
}

static int rd_complete(wire_h1_parser *p) {
  h1_reader *r = p->user;
  if (r->interim) return 0; /* the real response follows */
  r->done = true;
  return WIRE_H1_PAUSE;
}

static const wire_h1_callbacks reader_callbacks = {
    .on_status_line = rd_status,
    .on_header = rd_header,
    .on_headers_complete = rd_headers_complete,
    .on_body = rd_body,
    .on_trailer = rd_trailer,
    .on_message_complete = rd_complete,
};

static bool method_has_body(const char *m) {
  return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0;
}

/* Appends the request head (and a small body) to out. */
static int build_request(const wire_http_request *req, wire_buf *out, bool *body_in_out, wire_err *err) {
  const char *method = req->method[0] ? req->method : (req->body.len ? "POST" : "GET");
  const char *path = req->path && req->path[0] ? req->path : "/";
  int64_t length = req->body.len > 0 || method_has_body(method) ? (int64_t)req->body.len : WIRE_H1_NO_BODY_LENGTH;
  if (wire_h1_write_request_head(out, method, path, req->authority ? req->authority : "", &req->headers, length,
                                 err) < 0)
    return -1;
  if (!wire_headers_get(&req->headers, "user-agent")) {
    out->len -= 2; /* reopen the head: the writer ended it with the empty line */
    if (wire_h1_write_header(out, "user-agent", 10, USER_AGENT, sizeof USER_AGENT - 1, err) < 0 ||
        wire_buf_append(out, "\r\n", 2, err) < 0)
      return -1;
  }
  *body_in_out = req->body.len <= ONE_WRITE_MAX;
  if (*body_in_out && wire_buf_append(out, req->body.data, req->body.len, err) < 0) return -1;
  return 0;
}

/* Reads until the final response is complete. Returns 0 (r->done, *extra: bytes followed it) or -1. */
static int read_response(wire_conn *c, wire_h1_parser *p, h1_reader *r, int64_t deadline_ns, bool *extra,
                         wire_err *err) {
  uint8_t buf[READ_CHUNK];
  *extra = false;
  while (!r->done) {
    ssize_t n = wire_conn_read(c, buf, sizeof buf, deadline_ns, err);
    if (n < 0) return -1;
    if (n == 0) { /* completes a close-delimited body; anything else cut short is an error */
      if (wire_h1_finish(p, err) < 0) {
        if (r->failed && err) *err = r->err;
        return -1;
      }
      if (r->done) return 0;
      return wire_err_set(err, WIRE_E_IO, "http1: connection closed before a response");
    }
    ssize_t k = wire_h1_parse(p, buf, (size_t)n, err);
    if (k < 0) {
      if (r->failed && err) *err = r->err;
      return -1;
    }
    if (r->done) {
      *extra = k < n;
      return 0;
    }
    if (wire_h1_upgraded(p)) /* 101 without our asking */
      return wire_err_set(err, WIRE_E_PROTOCOL, "http1: unexpected 101 Switching Protocols");
  }
  return 0;
}

int wire_h1_roundtrip(wire_conn *c, const wire_http_request *req, wire_http_response *resp, int64_t deadline_ns,
                      bool *reusable, wire_err *err) {
  *reusable = false;
  wire_buf out;
  wire_buf_init(&out, 0);
  bool body_in_out = false;
  if (build_request(req, &out, &body_in_out, err) < 0) {
    wire_buf_free(&out);
    return -1;
  }
  int wrc = wire_conn_write_all(c, out.data, out.len, deadline_ns, err);
  if (wrc == 0 && !body_in_out) wrc = wire_conn_write_all(c, req->body.data, req->body.len, deadline_ns, err);
  wire_buf_free(&out);

  h1_reader r = {.resp = resp, .head = strcmp(req->method, "HEAD") == 0};
  wire_h1_config cfg = {
      .kind = WIRE_H1_RESPONSE,
      .max_head_bytes = resp->headers.max_bytes ? resp->headers.max_bytes + 1024 : 0,
      .max_headers = 100000, /* the header list's byte limit bounds the count */
  };
  char window[WIRE_H1_DEFAULT_WINDOW];
  wire_h1_parser p;
  wire_h1_parser_init(&p, &cfg, &reader_callbacks, &r, window, sizeof window);
  bool extra = false;
  if (wrc < 0) {
    /* The server may have answered early (413) and closed: return its answer if it is there. */
    wire_err write_err = err ? *err : (wire_err){0};
    if (read_response(c, &p, &r, deadline_ns, &extra, NULL) == 0 && r.done) return 0;
    if (err) *err = write_err;
    resp->status = 0; /* nothing usable arrived: the request may be retried */
    return -1;
  }
  if (read_response(c, &p, &r, deadline_ns, &extra, err) < 0) return -1;
  *reusable = wire_h1_keep_alive(&p) && !extra && !wire_h1_upgraded(&p);
  return 0;
}
