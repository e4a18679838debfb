/* tls.h — TLS through OpenSSL, for clients (CA verification, SNI, ALPN, optional client certificate) and
 * servers (certificate and key, ALPN selection, optional mutual TLS). A context is built from a config and
 * shared by all the connections of a client or server (rebuilt from the files every reload_interval_ms when
 * set). Certificates and keys come from files or inline PEM text. */
#ifndef OTELC_WIRE_TLS_H
#define OTELC_WIRE_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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
  /* Added later (zero keeps the earlier behaviour): */
  const char *cert_pem;       /* inline PEM text instead of cert_file (leaf first, then its chain) */
  const char *key_pem;        /* inline PEM text instead of key_file; secret: never logged nor quoted */
  const char *max_version;    /* "1.2" or "1.3"; NULL: the highest OpenSSL offers (1.3) */
  /* IANA names ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256"), as the Collector takes them;
   * none: OpenSSL's defaults. TLS 1.2 suites restrict TLS 1.2, TLS 1.3 suites TLS 1.3. */
  const char *const *cipher_suites;
  size_t ncipher_suites;
  bool include_system_ca;     /* client: trust the system's CAs in addition to ca_file/ca_pem */
  /* Re-read cert_file, key_file, ca_file and client_ca_file when a connection is set up at least this long
   * after the last read (certificate rotation without a restart); a failed read keeps the previous ones.
   * 0: read once. */
  uint64_t reload_interval_ms;
} wire_tls_config;

typedef struct wire_tls_client wire_tls_client;
typedef struct wire_tls_server wire_tls_server;

/* Errors name the file (inline PEM: the key, "cert_pem") and OpenSSL's reason ("tls: cannot load CA file
 * /x/ca.pem: no such file"); they never quote PEM text. The config is copied: it need not outlive the call.
 * Encrypted private keys are refused (no passphrase prompt). */
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

/* ---- TLS on one client connection (used by conn.c, which owns the socket and every wait) ----------------
 * Each call makes one attempt on a non-blocking socket and says what it needs next; the caller polls the fd
 * (bounded by its deadline) and calls again. `name` ("host:port") only goes into error messages, which read
 * "<what> <name>: <why>" like the caller's own socket errors. */
typedef enum wire_tls_step {
  WIRE_TLS_DONE = 0,   /* progress: the handshake finished, or bytes were moved (*n) */
  WIRE_TLS_WANT_READ,  /* wait until the socket is readable, then call again */
  WIRE_TLS_WANT_WRITE, /* wait until the socket is writable, then call again */
  WIRE_TLS_EOF,        /* the peer closed its side (close_notify, or a plain TCP close while reading) */
  WIRE_TLS_FAILED,     /* err is set (WIRE_E_TLS, or WIRE_E_IO for a socket error): the connection is unusable */
} wire_tls_step;

/* One step of the client handshake. On DONE the protocol agreed by ALPN (or "") is copied into alpn. */
wire_tls_step wire_tls_conn_handshake(SSL *ssl, const char *name, char *alpn, size_t alpn_cap, wire_err *err);
/* Writes up to n bytes; on DONE *n_done is the count written (> 0). A peer's close_notify is FAILED
 * ("write <name>: connection closed by peer"), never EOF. */
wire_tls_step wire_tls_conn_write(SSL *ssl, const void *p, int n, int *n_done, const char *name, wire_err *err);
/* Reads up to cap bytes; on DONE *n_done is the count read (> 0). */
wire_tls_step wire_tls_conn_read(SSL *ssl, void *p, int cap, int *n_done, const char *name, wire_err *err);
/* For a connection whose socket is readable while idle: DONE when application data is waiting (unsolicited
 * bytes), WANT_READ/WANT_WRITE when it was only post-handshake messages (TLS 1.3 session tickets), EOF when
 * the peer closed, FAILED on any other error. Never blocks and sets no error. */
wire_tls_step wire_tls_conn_peek(SSL *ssl);
/* True when decrypted application data is buffered and unread. */
bool wire_tls_conn_pending(SSL *ssl);
/* Sends close_notify (once, without waiting for the peer's) when send_close_notify, then frees ssl. The
 * caller closes the socket afterwards. */
void wire_tls_conn_close(SSL *ssl, bool send_close_notify);

#endif
