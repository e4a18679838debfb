/* unavailable.c — the parts of the wire layer that otelc_wire_lite (the LD_PRELOAD shim's build, see
 * wire/CMakeLists.txt) leaves out: TLS (tls.c, OpenSSL), HTTP/2 and gRPC calls (h2_client.c, grpc_client.c,
 * nghttp2), gzip (gzip.c, zlib). The rest of the library and the SDK refer to these functions; here each one
 * fails cleanly with WIRE_E_UNSUPPORTED and says what to do instead, so that a configuration asking for them
 * is refused with a clear message instead of an unresolved symbol in a host process. (otlp_json.c is left out
 * too: nothing in the shim's link refers to it.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/grpc_client.h"
#include "wire/gzip.h"
#include "wire/http_client.h"
#include "wire/tls.h"

#define NO_TLS "TLS is not part of the preload shim's wire build: reach the local receiver over plaintext"
#define NO_H2 \
  "HTTP/2 and gRPC are not part of the preload shim's wire build: use http/protobuf to the local receiver"
#define NO_GZIP "gzip is not part of the preload shim's wire build: send uncompressed"

/* ---- tls.c ---- */

wire_tls_client *wire_tls_client_new(const wire_tls_config *cfg, wire_err *err) {
  (void)cfg;
  wire_err_set(err, WIRE_E_UNSUPPORTED, "tls: %s", NO_TLS);
  return NULL;
}

void wire_tls_client_free(wire_tls_client *t) { (void)t; }

SSL *wire_tls_client_ssl(wire_tls_client *t, int fd, const char *name, const char *const *alpn, wire_err *err) {
  (void)t, (void)fd, (void)name, (void)alpn;
  wire_err_set(err, WIRE_E_UNSUPPORTED, "tls: %s", NO_TLS);
  return NULL;
}

wire_tls_server *wire_tls_server_new(const wire_tls_config *cfg, const char *const *alpn, wire_err *err) {
  (void)cfg, (void)alpn;
  wire_err_set(err, WIRE_E_UNSUPPORTED, "tls: %s", NO_TLS);
  return NULL;
}

void wire_tls_server_free(wire_tls_server *t) { (void)t; }

SSL *wire_tls_server_ssl(wire_tls_server *t, int fd, wire_err *err) {
  (void)t, (void)fd;
  wire_err_set(err, WIRE_E_UNSUPPORTED, "tls: %s", NO_TLS);
  return NULL;
}

void wire_tls_error_text(char *out, size_t outlen) {
  if (outlen) snprintf(out, outlen, "%s", NO_TLS);
}

/* No SSL is ever made in this build, so conn.c never gets here; fail cleanly all the same. */
wire_tls_step wire_tls_conn_handshake(SSL *ssl, const char *name, char *alpn, size_t alpn_cap, wire_err *err) {
  (void)ssl;
  if (alpn_cap) alpn[0] = '\0';
  wire_err_set(err, WIRE_E_UNSUPPORTED, "tls handshake with %s: %s", name, NO_TLS);
  return WIRE_TLS_FAILED;
}

wire_tls_step wire_tls_conn_write(SSL *ssl, const void *p, int n, int *n_done, const char *name, wire_err *err) {
  (void)ssl, (void)p, (void)n, (void)n_done;
  wire_err_set(err, WIRE_E_UNSUPPORTED, "write %s: %s", name, NO_TLS);
  return WIRE_TLS_FAILED;
}

wire_tls_step wire_tls_conn_read(SSL *ssl, void *p, int cap, int *n_done, const char *name, wire_err *err) {
  (void)ssl, (void)p, (void)cap, (void)n_done;
  wire_err_set(err, WIRE_E_UNSUPPORTED, "read %s: %s", name, NO_TLS);
  return WIRE_TLS_FAILED;
}

wire_tls_step wire_tls_conn_peek(SSL *ssl) {
  (void)ssl;
  return WIRE_TLS_FAILED;
}

bool wire_tls_conn_pending(SSL *ssl) {
  (void)ssl;
  return false;
}

void wire_tls_conn_close(SSL *ssl, bool send_close_notify) { (void)ssl, (void)send_close_notify; }

/* ---- h2_client.c ---- */

wire_h2_client *wire_h2_client_new(wire_conn *c, wire_err *err) {
  (void)c;
  wire_err_set(err, WIRE_E_UNSUPPORTED, "http2: %s", NO_H2);
  return NULL;
}

int wire_h2_roundtrip(wire_h2_client *h, const wire_http_request *req, wire_http_response *resp, int64_t deadline_ns,
                      wire_err *err) {
  (void)h, (void)req, (void)resp, (void)deadline_ns;
  return wire_err_set(err, WIRE_E_UNSUPPORTED, "http2: %s", NO_H2);
}

bool wire_h2_client_usable(const wire_h2_client *h) {
  (void)h;
  return false;
}

void wire_h2_client_free(wire_h2_client *h) { (void)h; }

/* ---- grpc_client.c ---- */

void wire_grpc_result_init(wire_grpc_result *r) {
  memset(r, 0, sizeof *r);
  wire_buf_init(&r->response, 0);
}

void wire_grpc_result_free(wire_grpc_result *r) {
  free(r->message);
  r->message = NULL;
  wire_buf_free(&r->response);
}

int wire_grpc_unary(wire_client *c, const wire_grpc_call *call, wire_grpc_result *r, wire_err *err) {
  (void)c, (void)call;
  free(r->message);
  r->message = NULL;
  r->code = WIRE_GRPC_UNIMPLEMENTED;
  r->http_status = 0;
  r->local = true;
  r->has_retry_info = false;
  r->retry_delay_ns = 0;
  wire_buf_reset(&r->response);
  return wire_err_set(err, WIRE_E_UNSUPPORTED, "grpc: %s", NO_H2);
}

/* ---- gzip.c ---- */

int wire_gzip_compress(const void *in, size_t n, int level, wire_buf *out, wire_err *err) {
  (void)in, (void)n, (void)level, (void)out;
  return wire_err_set(err, WIRE_E_UNSUPPORTED, "gzip: %s", NO_GZIP);
}

int wire_gzip_decompress(const void *in, size_t n, size_t max_out, wire_buf *out, wire_err *err) {
  (void)in, (void)n, (void)max_out, (void)out;
  return wire_err_set(err, WIRE_E_UNSUPPORTED, "gzip: %s", NO_GZIP);
}
