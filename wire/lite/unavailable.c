/* unavailable.c — the part of the wire layer that otelc_wire_lite (the LD_PRELOAD shim's build, see
 * wire/CMakeLists.txt) leaves out: TLS (tls.c, OpenSSL). A preloaded library must not load libssl into every
 * process, and the node-local receiver needs no TLS. The rest of the library refers to these functions; here
 * each one fails cleanly with WIRE_E_UNSUPPORTED and says what to do instead, so that a configuration asking
 * for TLS is refused with a clear message instead of an unresolved symbol in a host process. (otlp_json.c is
 * left out too: nothing in the shim's link refers to it.) HTTP/2, gRPC and gzip are in the lite build. */
#include <stdio.h>

#include "wire/tls.h"

#define NO_TLS "TLS is not part of the preload shim's wire build: reach the local receiver over plaintext"

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
