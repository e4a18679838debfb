/* tls.h — TLS through OpenSSL, for clients (CA verification, SNI, ALPN, optional client certificate) and
 * servers (certificate and key, ALPN selection, optional mutual TLS). A context is built once from a config
 * and shared by all the connections of a client or server. */
#ifndef OTELC_WIRE_TLS_H
#define OTELC_WIRE_TLS_H

#include <stdbool.h>
#include <openssl/ssl.h>

#include "wire/err.h"

typedef struct wire_tls_config {
  const char *ca_file;        /* PEM bundle of trusted CAs; NULL: the system's default paths */
  const char *ca_pem;         /* the same, inline PEM text (Collector's ca_pem); used when set */
  const char *cert_file;      /* server: its certificate chain; client: certificate for mutual TLS */
  const char *key_file;       /* the matching private key */
  const char *client_ca_file; /* server only: when set, clients must present a certificate signed by it (mTLS) */
  const char *server_name;    /* client: SNI and the name verified (default: the endpoint's host) */
  bool insecure_skip_verify;  /* client: accept any server certificate (testing only; logged as a warning) */
  const char *min_version;    /* "1.2" (default) or "1.3" */
} wire_tls_config;

typedef struct wire_tls_client wire_tls_client;
typedef struct wire_tls_server wire_tls_server;

/* Errors name the file and OpenSSL's reason ("tls: cannot load CA file /x/ca.pem: no such file"). */
wire_tls_client *wire_tls_client_new(const wire_tls_config *cfg, wire_err *err);
void wire_tls_client_free(wire_tls_client *t);
/* A new SSL for one connection on fd, with SNI and verified name = cfg->server_name when set, else `name`, ALPN (NULL-terminated list, may be NULL) set and
 * hostname verification armed unless insecure_skip_verify (an IP address is verified against IP SANs and
 * sent without SNI). Client and server SSLs read and write fd through a BIO that never raises SIGPIPE (send
 * with MSG_NOSIGNAL) and never closes fd: the caller closes it after SSL_free. */
SSL *wire_tls_client_ssl(wire_tls_client *t, int fd, const char *name, const char *const *alpn, wire_err *err);

/* alpn: the protocols the server accepts, in preference order ({"h2", "http/1.1", NULL}). */
wire_tls_server *wire_tls_server_new(const wire_tls_config *cfg, const char *const *alpn, wire_err *err);
void wire_tls_server_free(wire_tls_server *t);
SSL *wire_tls_server_ssl(wire_tls_server *t, int fd, wire_err *err);

/* The most recent OpenSSL error as text (drains OpenSSL's error queue of this thread). */
void wire_tls_error_text(char *out, size_t outlen);

#endif
