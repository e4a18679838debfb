/* grpc_client.c — unary gRPC calls on wire_client (see grpc_client.h): builds the HTTP/2 request (pseudo-headers
 * come from h2_client.c), frames the message, and turns the response (headers, body, trailers) into a status,
 * a message and the response bytes, following grpc/doc/PROTOCOL-HTTP2.md. */
#include "wire/grpc_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/clock.h"

#define DEFAULT_MAX_RESPONSE (4u << 20)
#define DEFAULT_USER_AGENT "otelc-grpc/0.1.0"

void wire_grpc_result_init(wire_grpc_result *r) {
  memset(r, 0, sizeof *r);
  wire_buf_init(&r->response, 0);
}

void wire_grpc_result_free(wire_grpc_result *r) {
  free(r->message);
  r->message = NULL;
  wire_buf_free(&r->response);
}

static void result_reset(wire_grpc_result *r) {
  free(r->message);
  r->message = NULL;
  r->code = WIRE_GRPC_UNKNOWN;
  r->http_status = 0;
  r->local = false;
  r->has_retry_info = false;
  r->retry_delay_ns = 0;
  wire_buf_reset(&r->response);
}

/* A status made here rather than by the server; message is the error text (never contains payloads). */
static int local_status(wire_grpc_result *r, int code, const wire_err *e) {
  r->code = code;
  r->local = true;
  free(r->message);
  r->message = strdup(e && e->msg[0] ? e->msg : wire_grpc_code_name(code));
  return -1;
}

static int code_for_transport_error(wire_err_code c) {
  switch (c) {
  case WIRE_E_TIMEOUT: return WIRE_GRPC_DEADLINE_EXCEEDED;
  case WIRE_E_LIMIT:
  case WIRE_E_NOMEM: return WIRE_GRPC_RESOURCE_EXHAUSTED;
  case WIRE_E_INVALID: return WIRE_GRPC_INTERNAL;
  default: return WIRE_GRPC_UNAVAILABLE; /* IO, TLS, DNS, protocol, closed: the transport failed */
  }
}

/* Headers the call sets itself: metadata may not override them. */
static bool reserved_metadata(const char *name) {
  static const char *const reserved[] = {"content-type", "te", "grpc-timeout", "grpc-encoding",
                                         "grpc-accept-encoding", "content-length", "user-agent"};
  if (name[0] == ':') return true;
  for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
    if (strcmp(name, reserved[i]) == 0) return true;
  return false;
}

static int build_request(const wire_grpc_call *call, wire_http_request *req, wire_err *err) {
  if (wire_http_request_set_target(req, "POST", call->path, NULL, err) < 0) return -1;
  req->version = WIRE_HTTP_2;
  wire_headers *h = &req->headers;
  if (wire_headers_add_cstr(h, "content-type", "application/grpc", err) < 0 ||
      wire_headers_add_cstr(h, "te", "trailers", err) < 0 ||
      wire_headers_add_cstr(h, "user-agent", call->user_agent ? call->user_agent : DEFAULT_USER_AGENT, err) < 0 ||
      wire_headers_add_cstr(h, "grpc-accept-encoding", "gzip", err) < 0)
    return -1;
  if (call->gzip && wire_headers_add_cstr(h, "grpc-encoding", "gzip", err) < 0) return -1;
  if (call->deadline_ns) {
    char t[16];
    wire_grpc_timeout_format(call->deadline_ns - wire_now_ns(), t, sizeof t);
    if (wire_headers_add_cstr(h, "grpc-timeout", t, err) < 0) return -1;
  }
  if (call->metadata) {
    for (size_t i = 0; i < call->metadata->n; i++) {
      const wire_header *m = &call->metadata->v[i];
      if (reserved_metadata(m->name)) continue;
      if (wire_headers_add(h, m->name, m->name_len, m->value, m->value_len, err) < 0) return -1;
    }
  }
  return wire_grpc_frame_encode(&req->body, call->request, call->request_len,
                                call->gzip ? WIRE_GRPC_GZIP : WIRE_GRPC_IDENTITY, err);
}

/* Reads grpc-status, grpc-message and grpc-status-details-bin from one header block. Returns false when the
 * block has no grpc-status. */
static bool take_status(const wire_headers *block, wire_grpc_result *r) {
  const char *st = wire_headers_get(block, "grpc-status");
  if (!st) return false;
  int code = 0;
  bool ok = *st != '\0';
  for (const char *p = st; *p && ok; p++) {
    if (*p < '0' || *p > '9' || code > 1000) ok = false;
    else code = code * 10 + (*p - '0');
  }
  r->code = ok ? code : WIRE_GRPC_UNKNOWN;
  const char *msg = wire_headers_get(block, "grpc-message");
  if (msg) r->message = wire_grpc_message_decode(msg);
  const char *details = wire_headers_get(block, "grpc-status-details-bin");
  int64_t delay = 0;
  if (details && wire_grpc_status_details_parse(details, &delay, NULL, NULL) == 1) {
    r->has_retry_info = true;
    r->retry_delay_ns = delay;
  }
  return true;
}

static bool is_grpc_content_type(const char *ct) {
  if (!ct || strncmp(ct, "application/grpc", 16) != 0) return false;
  return ct[16] == '\0' || ct[16] == '+' || ct[16] == ';';
}

int wire_grpc_unary(wire_client *c, const wire_grpc_call *call, wire_grpc_result *r, wire_err *err) {
  result_reset(r);
  wire_err local_err;
  if (!err) err = &local_err;
  if (call->deadline_ns && call->deadline_ns <= wire_now_ns()) {
    wire_err_set(err, WIRE_E_TIMEOUT, "grpc: deadline passed before the call %s", call->path);
    return local_status(r, WIRE_GRPC_DEADLINE_EXCEEDED, err);
  }
  /* 0: the client's max_response_bytes bounds the body (wire_client_do applies it) and so the message */
  size_t max_msg = call->max_response_bytes;

  wire_http_request req;
  wire_http_request_init(&req, 0, 0);
  wire_http_response resp;
  /* The body holds one framed message; a bit of slack lets an oversized prefix be seen and named. */
  wire_http_response_init(&resp, 0, max_msg ? max_msg + WIRE_GRPC_PREFIX_LEN : 0);
  int rc = -1;
  if (build_request(call, &req, err) < 0) {
    wire_err_prefix(err, "grpc: %s: ", call->path);
    rc = local_status(r, err->code == WIRE_E_LIMIT ? WIRE_GRPC_RESOURCE_EXHAUSTED : WIRE_GRPC_INTERNAL, err);
    goto done;
  }
  if (wire_client_do(c, &req, &resp, call->deadline_ns, err) < 0) {
    wire_err_prefix(err, "grpc: %s: ", call->path);
    rc = local_status(r, code_for_transport_error(err->code), err);
    goto done;
  }
  r->http_status = resp.status;

  /* Status: trailers, or the headers of a trailers-only response, or the HTTP status. */
  if (!take_status(&resp.trailers, r) && !take_status(&resp.headers, r)) {
    if (resp.status != 200) {
      r->code = wire_grpc_code_from_http(resp.status);
      char m[96];
      snprintf(m, sizeof m, "HTTP status %d without grpc-status", resp.status);
      r->message = strdup(m);
      rc = 0;
      goto done;
    }
    wire_err_set(err, WIRE_E_PROTOCOL, "grpc: %s: response without grpc-status", call->path);
    rc = local_status(r, WIRE_GRPC_INTERNAL, err);
    goto done;
  }
  if (r->code != WIRE_GRPC_OK) {
    rc = 0;
    goto done;
  }
  if (!is_grpc_content_type(wire_headers_get(&resp.headers, "content-type"))) {
    wire_err_set(err, WIRE_E_PROTOCOL, "grpc: %s: response content-type is not application/grpc", call->path);
    rc = local_status(r, WIRE_GRPC_INTERNAL, err);
    goto done;
  }
  int enc = wire_grpc_encoding_parse(wire_headers_get(&resp.headers, "grpc-encoding"));
  if (enc < 0) {
    wire_err_set(err, WIRE_E_UNSUPPORTED, "grpc: %s: response uses an unsupported grpc-encoding", call->path);
    rc = local_status(r, WIRE_GRPC_INTERNAL, err);
    goto done;
  }
  const uint8_t *msg;
  size_t len;
  if (!max_msg) max_msg = resp.body.limit ? resp.body.limit : DEFAULT_MAX_RESPONSE;
  r->response.limit = max_msg;
  if (wire_grpc_decode_unary(resp.body.data, resp.body.len, (wire_grpc_encoding)enc, max_msg, true, &r->response,
                             &msg, &len, err) < 0) {
    wire_err_prefix(err, "grpc: %s: response: ", call->path);
    rc = local_status(r, err->code == WIRE_E_LIMIT ? WIRE_GRPC_RESOURCE_EXHAUSTED : WIRE_GRPC_INTERNAL, err);
    goto done;
  }
  if (msg != r->response.data) { /* uncompressed: it still lives in the HTTP body */
    wire_buf_reset(&r->response);
    if (wire_buf_append(&r->response, msg, len, err) < 0) {
      rc = local_status(r, WIRE_GRPC_RESOURCE_EXHAUSTED, err);
      goto done;
    }
  }
  rc = 0;
done:
  wire_http_request_free(&req);
  wire_http_response_free(&resp);
  return rc;
}
