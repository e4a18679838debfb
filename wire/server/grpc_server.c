/* grpc_server.c — reading unary gRPC requests and writing gRPC responses on server exchanges
 * (see grpc_server.h). The framing and status encoding live in wire/grpc.c. */
#include "wire/server/grpc_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_MESSAGE (4u << 20)
#define ACCEPT_ENCODING "gzip,identity"

bool wire_grpc_is_grpc_request(const wire_http_request *req) {
  const char *ct = wire_headers_get(&req->headers, "content-type");
  if (!ct || strncmp(ct, "application/grpc", 16) != 0) return false;
  const char *rest = ct + 16;
  if (strncmp(rest, "+proto", 6) == 0) rest += 6;
  return *rest == '\0' || *rest == ';';
}

int64_t wire_grpc_request_timeout_ns(const wire_exchange *ex) {
  const char *t = wire_headers_get(&wire_exchange_request(ex)->headers, "grpc-timeout");
  int64_t ns;
  if (!t || wire_grpc_timeout_parse(t, &ns, NULL) < 0) return -1;
  return ns;
}

/* A plain HTTP error for requests that are not gRPC at all (the spec's 415 keeps other HTTP/2 clients from
 * reading a gRPC error as success). */
static void respond_http_error(wire_exchange *ex, int status, const char *text, const char *allow) {
  wire_headers h;
  wire_headers_init(&h, 0, 0);
  wire_headers_add_cstr(&h, "content-type", "text/plain; charset=utf-8", NULL);
  if (allow) wire_headers_add_cstr(&h, "allow", allow, NULL);
  wire_exchange_respond(ex, status, &h, text, strlen(text), NULL);
  wire_headers_free(&h);
}

/* Adds grpc-status, grpc-message and grpc-status-details-bin to h. */
static void add_status_fields(wire_headers *h, int code, const char *message, int64_t retry_delay_ns) {
  char num[16];
  snprintf(num, sizeof num, "%d", code);
  wire_headers_add_cstr(h, "grpc-status", num, NULL);
  wire_buf tmp;
  wire_buf_init(&tmp, 0);
  if (message && *message && wire_grpc_message_encode(message, &tmp, NULL) == 0)
    wire_headers_add(h, "grpc-message", 12, (const char *)tmp.data, tmp.len, NULL);
  if (retry_delay_ns >= 0) {
    wire_buf_reset(&tmp);
    if (wire_grpc_status_details_build(code, message, retry_delay_ns, &tmp, NULL) == 0)
      wire_headers_add(h, "grpc-status-details-bin", 23, (const char *)tmp.data, tmp.len, NULL);
  }
  wire_buf_free(&tmp);
}

void wire_grpc_respond_status(wire_exchange *ex, int code, const char *message, int64_t retry_delay_ns) {
  wire_headers h;
  wire_headers_init(&h, 0, 0);
  wire_headers_add_cstr(&h, "content-type", "application/grpc", NULL);
  wire_headers_add_cstr(&h, "grpc-accept-encoding", ACCEPT_ENCODING, NULL);
  add_status_fields(&h, code, message, retry_delay_ns);
  wire_exchange_respond(ex, 200, &h, NULL, 0, NULL);
  wire_headers_free(&h);
}

void wire_grpc_respond(wire_exchange *ex, const void *msg, size_t len) {
  wire_buf body;
  wire_buf_init(&body, 0);
  wire_err err;
  if (wire_grpc_frame_encode(&body, msg, len, WIRE_GRPC_IDENTITY, &err) < 0) {
    wire_buf_free(&body);
    wire_grpc_respond_status(ex, WIRE_GRPC_INTERNAL, "cannot frame the response message", -1);
    return;
  }
  wire_headers h, t;
  wire_headers_init(&h, 0, 0);
  wire_headers_init(&t, 0, 0);
  wire_headers_add_cstr(&h, "content-type", "application/grpc", NULL);
  wire_headers_add_cstr(&h, "grpc-accept-encoding", ACCEPT_ENCODING, NULL);
  add_status_fields(&t, WIRE_GRPC_OK, NULL, -1);
  wire_exchange_respond(ex, 200, &h, body.data, body.len, &t);
  wire_headers_free(&h);
  wire_headers_free(&t);
  wire_buf_free(&body);
}

int wire_grpc_read_request(wire_exchange *ex, size_t max_message, const uint8_t **msg, size_t *len, wire_err *err) {
  wire_http_request *req = wire_exchange_request_mut(ex);
  wire_err local_err;
  if (!err) err = &local_err;
  if (!max_message) max_message = DEFAULT_MAX_MESSAGE;
  if (strcmp(req->method, "POST") != 0) {
    wire_err_set(err, WIRE_E_PROTOCOL, "grpc: method %.15s is not POST", req->method);
    respond_http_error(ex, 405, "gRPC requires POST\n", "POST");
    return -1;
  }
  if (!wire_grpc_is_grpc_request(req)) {
    wire_err_set(err, WIRE_E_PROTOCOL, "grpc: content-type is not application/grpc");
    respond_http_error(ex, 415, "content-type must be application/grpc\n", NULL);
    return -1;
  }
  int enc = wire_grpc_encoding_parse(wire_headers_get(&req->headers, "grpc-encoding"));
  if (enc < 0) {
    wire_err_set(err, WIRE_E_UNSUPPORTED, "grpc: unsupported grpc-encoding (supported: " ACCEPT_ENCODING ")");
    wire_grpc_respond_status(ex, WIRE_GRPC_UNIMPLEMENTED,
                             "unsupported grpc-encoding (supported: " ACCEPT_ENCODING ")", -1);
    return -1;
  }
  wire_buf inflated;
  wire_buf_init(&inflated, max_message);
  if (wire_grpc_decode_unary(req->body.data, req->body.len, (wire_grpc_encoding)enc, max_message, false, &inflated,
                             msg, len, err) < 0) {
    wire_buf_free(&inflated);
    int code = err->code == WIRE_E_LIMIT ? WIRE_GRPC_RESOURCE_EXHAUSTED : WIRE_GRPC_INTERNAL;
    /* The error text names sizes and offsets only, never content: fine to send back. */
    wire_grpc_respond_status(ex, code, err->msg, -1);
    return -1;
  }
  if (*msg == inflated.data && inflated.data) { /* decompressed: the exchange keeps it in place of the body */
    wire_buf_free(&req->body);
    req->body = inflated;
  } else {
    wire_buf_free(&inflated);
  }
  return 0;
}
