/* tls.c — OpenSSL contexts for otelc's clients and servers (see tls.h).
 *
 * A context (SSL_CTX) is built once from a wire_tls_config; each connection gets an SSL from it bound to its
 * socket through a small BIO of our own, the "socket BIO without SIGPIPE": OpenSSL's socket BIO writes with
 * write(2), which raises SIGPIPE when the peer has gone, and a library must not kill (or require signal
 * settings from) its host process. Ours writes with send(MSG_NOSIGNAL) and otherwise behaves like
 * BIO_s_socket (non-blocking retry flags, EOF flag for OpenSSL's unexpected-EOF detection). */
#include "wire/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

struct wire_tls_client {
  SSL_CTX *ctx;
  char *server_name; /* overrides the endpoint's host for SNI and verification */
  bool insecure;
};

struct wire_tls_server {
  SSL_CTX *ctx;
  unsigned char alpn[256]; /* the server's protocols in wire format (length-prefixed), preference order */
  unsigned alpn_len;
};

/* ---- errors ------------------------------------------------------------------------------------------ */

/* OpenSSL's reason for one error code; system errors (a missing file) as strerror's text. */
static const char *reason_text(unsigned long e, char *buf, size_t len) {
  if (ERR_SYSTEM_ERROR(e)) return strerror(ERR_GET_REASON(e));
  const char *r = ERR_reason_error_string(e);
  if (r) return r;
  ERR_error_string_n(e, buf, len);
  return buf;
}

void wire_tls_error_text(char *out, size_t outlen) {
  if (!outlen) return;
  out[0] = '\0';
  /* The first error queued is usually the root cause ("No such file or directory"), the last the context
   * ("system lib"); report the first, and the last when it differs. */
  unsigned long first = 0, last = 0, e;
  while ((e = ERR_get_error()) != 0) {
    if (!first) first = e;
    last = e;
  }
  if (!first) {
    snprintf(out, outlen, "%s", errno ? strerror(errno) : "unknown error");
    return;
  }
  char a[160], b[160];
  const char *ra = reason_text(first, a, sizeof a);
  const char *rb = last != first ? reason_text(last, b, sizeof b) : NULL;
  if (rb && strcmp(ra, rb) == 0) rb = NULL;
  if (rb)
    snprintf(out, outlen, "%s (%s)", ra, rb);
  else
    snprintf(out, outlen, "%s", ra);
}

__attribute__((format(printf, 2, 3))) static int tls_err(wire_err *err, const char *fmt, ...) {
  char why[200];
  wire_tls_error_text(why, sizeof why);
  char what[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return wire_err_set(err, WIRE_E_TLS, "tls: %s: %s", what, why);
}

/* ---- the socket BIO without SIGPIPE ---------------------------------------------------------------- */

static BIO_METHOD *nosig_method;
static pthread_once_t nosig_once = PTHREAD_ONCE_INIT;

static int nosig_fd(BIO *b) { return (int)(intptr_t)BIO_get_data(b); }

static bool errno_is_retry(int e) { return e == EAGAIN || e == EWOULDBLOCK || e == EINTR || e == EINPROGRESS; }

static int nosig_write(BIO *b, const char *data, int len) {
  BIO_clear_retry_flags(b);
  if (len <= 0) return 0;
  ssize_t n = send(nosig_fd(b), data, (size_t)len, MSG_NOSIGNAL);
  if (n < 0 && errno_is_retry(errno)) BIO_set_retry_write(b);
  return (int)n;
}

static int nosig_read(BIO *b, char *data, int len) {
  BIO_clear_retry_flags(b);
  if (len <= 0) return 0;
  ssize_t n = recv(nosig_fd(b), data, (size_t)len, 0);
  if (n < 0 && errno_is_retry(errno)) BIO_set_retry_read(b);
  if (n == 0) BIO_set_flags(b, BIO_FLAGS_IN_EOF);
  return (int)n;
}

static int nosig_puts(BIO *b, const char *s) { return nosig_write(b, s, (int)strlen(s)); }

static long nosig_ctrl(BIO *b, int cmd, long num, void *ptr) {
  switch (cmd) {
  case BIO_C_SET_FD:
    BIO_set_data(b, (void *)(intptr_t)(ptr ? *(int *)ptr : -1));
    BIO_set_shutdown(b, (int)num);
    BIO_set_init(b, 1);
    return 1;
  case BIO_C_GET_FD:
    if (!BIO_get_init(b)) return -1;
    if (ptr) *(int *)ptr = nosig_fd(b);
    return nosig_fd(b);
  case BIO_CTRL_GET_CLOSE: return BIO_get_shutdown(b);
  case BIO_CTRL_SET_CLOSE: BIO_set_shutdown(b, (int)num); return 1;
  case BIO_CTRL_DUP:
  case BIO_CTRL_FLUSH: return 1;
  case BIO_CTRL_EOF: return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
  default: return 0;
  }
}

static int nosig_create(BIO *b) {
  BIO_set_data(b, (void *)(intptr_t)-1);
  BIO_set_init(b, 0);
  return 1;
}

/* The socket belongs to the caller (wire_conn, the listener): freeing the BIO never closes it. */
static int nosig_destroy(BIO *b) {
  if (!b) return 0;
  BIO_set_data(b, (void *)(intptr_t)-1);
  BIO_set_init(b, 0);
  return 1;
}

static void nosig_method_init(void) {
  BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                               "otelc socket (no SIGPIPE)");
  if (!m) return;
  BIO_meth_set_write(m, nosig_write);
  BIO_meth_set_read(m, nosig_read);
  BIO_meth_set_puts(m, nosig_puts);
  BIO_meth_set_ctrl(m, nosig_ctrl);
  BIO_meth_set_create(m, nosig_create);
  BIO_meth_set_destroy(m, nosig_destroy);
  nosig_method = m;
}

/* A new SSL from ctx on fd with our BIO. */
static SSL *ssl_on_fd(SSL_CTX *ctx, int fd, wire_err *err) {
  pthread_once(&nosig_once, nosig_method_init);
  if (!nosig_method) {
    wire_err_set(err, WIRE_E_NOMEM, "tls: cannot create the socket BIO method");
    return NULL;
  }
  SSL *ssl = SSL_new(ctx);
  BIO *bio = ssl ? BIO_new(nosig_method) : NULL;
  if (!ssl || !bio) {
    tls_err(err, "cannot create a connection");
    SSL_free(ssl);
    return NULL;
  }
  BIO_set_fd(bio, fd, BIO_NOCLOSE);
  SSL_set_bio(ssl, bio, bio);
  return ssl;
}

/* ---- shared configuration --------------------------------------------------------------------------- */

static int set_min_version(SSL_CTX *ctx, const char *v, wire_err *err) {
  int ver = TLS1_2_VERSION;
  if (v && *v) {
    if (!strncasecmp(v, "TLSv", 4))
      v += 4;
    else if (!strncasecmp(v, "TLS", 3))
      v += 3;
    if (strcmp(v, "1.2") == 0)
      ver = TLS1_2_VERSION;
    else if (strcmp(v, "1.3") == 0)
      ver = TLS1_3_VERSION;
    else
      return wire_err_set(err, WIRE_E_INVALID, "tls: min_version must be \"1.2\" or \"1.3\"");
  }
  if (!SSL_CTX_set_min_proto_version(ctx, ver)) return tls_err(err, "cannot set the minimum version");
  return 0;
}

static int load_cert_and_key(SSL_CTX *ctx, const char *cert, const char *key, wire_err *err) {
  if (!cert || !*cert || !key || !*key)
    return wire_err_set(err, WIRE_E_INVALID, "tls: cert_file and key_file must be set together");
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) return tls_err(err, "cannot load certificate file %s", cert);
  if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
    return tls_err(err, "cannot load key file %s", key);
  if (SSL_CTX_check_private_key(ctx) != 1) return tls_err(err, "key file %s does not match the certificate", key);
  return 0;
}

static int load_ca_pem(SSL_CTX *ctx, const char *pem, wire_err *err) {
  ERR_clear_error();
  BIO *bio = BIO_new_mem_buf(pem, -1);
  if (!bio) return tls_err(err, "cannot read ca_pem");
  X509_STORE *store = SSL_CTX_get_cert_store(ctx);
  int count = 0;
  X509 *x;
  while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
    int ok = X509_STORE_add_cert(store, x);
    X509_free(x);
    if (!ok) {
      BIO_free(bio);
      return tls_err(err, "cannot add a ca_pem certificate");
    }
    count++;
  }
  BIO_free(bio);
  ERR_clear_error(); /* the loop ends with "no start line" */
  if (count == 0) return wire_err_set(err, WIRE_E_TLS, "tls: ca_pem contains no PEM certificate");
  return 0;
}

/* ---- client ---------------------------------------------------------------------------------------- */

wire_tls_client *wire_tls_client_new(const wire_tls_config *cfg, wire_err *err) {
  static const wire_tls_config defaults;
  if (!cfg) cfg = &defaults;
  wire_tls_client *t = calloc(1, sizeof *t);
  if (!t) {
    wire_err_set(err, WIRE_E_NOMEM, "tls: out of memory");
    return NULL;
  }
  ERR_clear_error();
  t->ctx = SSL_CTX_new(TLS_client_method());
  if (!t->ctx) {
    tls_err(err, "cannot create a client context");
    goto fail;
  }
  if (set_min_version(t->ctx, cfg->min_version, err) < 0) goto fail;
  /* Partial writes and a moving buffer: our writers retry non-blocking writes from their own queues.
   * Unexpected EOF (no close_notify) reads as a plain EOF: many servers close that way, and HTTP framing
   * detects truncated messages itself. */
  SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_options(t->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  t->insecure = cfg->insecure_skip_verify;
  if (cfg->server_name && *cfg->server_name && !(t->server_name = strdup(cfg->server_name))) {
    wire_err_set(err, WIRE_E_NOMEM, "tls: out of memory");
    goto fail;
  }
  if (t->insecure) {
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
  } else {
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    if (cfg->ca_pem && *cfg->ca_pem) {
      if (load_ca_pem(t->ctx, cfg->ca_pem, err) < 0) goto fail;
    } else if (cfg->ca_file && *cfg->ca_file) {
      if (SSL_CTX_load_verify_locations(t->ctx, cfg->ca_file, NULL) != 1) {
        tls_err(err, "cannot load CA file %s", cfg->ca_file);
        goto fail;
      }
    } else if (SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
      tls_err(err, "cannot load the system's CA certificates");
      goto fail;
    }
  }
  if ((cfg->cert_file && *cfg->cert_file) || (cfg->key_file && *cfg->key_file))
    if (load_cert_and_key(t->ctx, cfg->cert_file, cfg->key_file, err) < 0) goto fail;
  return t;
fail:
  wire_tls_client_free(t);
  return NULL;
}

void wire_tls_client_free(wire_tls_client *t) {
  if (!t) return;
  SSL_CTX_free(t->ctx);
  free(t->server_name);
  free(t);
}

/* ALPN list {"h2", "http/1.1", NULL} to wire format; returns the length or -1 when a name is empty/too long. */
static int alpn_encode(const char *const *alpn, unsigned char *out, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; alpn && alpn[i]; i++) {
    size_t l = strlen(alpn[i]);
    if (l == 0 || l > 255 || n + 1 + l > cap) return -1;
    out[n++] = (unsigned char)l;
    memcpy(out + n, alpn[i], l);
    n += l;
  }
  return (int)n;
}

static bool is_ip_literal(const char *s) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

SSL *wire_tls_client_ssl(wire_tls_client *t, int fd, const char *name, const char *const *alpn, wire_err *err) {
  if (t->server_name) name = t->server_name;
  SSL *ssl = ssl_on_fd(t->ctx, fd, err);
  if (!ssl) return NULL;
  SSL_set_connect_state(ssl);
  if (alpn && alpn[0]) {
    unsigned char wire[256];
    int n = alpn_encode(alpn, wire, sizeof wire);
    if (n < 0) {
      SSL_free(ssl);
      wire_err_set(err, WIRE_E_INVALID, "tls: invalid ALPN protocol list");
      return NULL;
    }
    if (SSL_set_alpn_protos(ssl, wire, (unsigned)n) != 0) { /* 0 is success here */
      SSL_free(ssl);
      tls_err(err, "cannot set ALPN");
      return NULL;
    }
  }
  if (name && *name) {
    bool ip = is_ip_literal(name);
    /* RFC 6066: SNI carries host names only, never address literals. */
    if (!ip && !SSL_set_tlsext_host_name(ssl, name)) {
      SSL_free(ssl);
      tls_err(err, "cannot set server name %s", name);
      return NULL;
    }
    if (!t->insecure) {
      X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
      int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name) : X509_VERIFY_PARAM_set1_host(param, name, 0);
      if (!ip) X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      if (ok != 1) {
        SSL_free(ssl);
        tls_err(err, "cannot arm verification of %s", name);
        return NULL;
      }
    }
  }
  return ssl;
}

/* ---- server ---------------------------------------------------------------------------------------- */

/* ALPN selection by the server's preference: the first of our protocols the client offered. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                       unsigned int inlen, void *arg) {
  (void)ssl;
  const wire_tls_server *t = arg;
  for (unsigned i = 0; i < t->alpn_len; i += 1u + t->alpn[i]) {
    const unsigned char *ours = &t->alpn[i + 1];
    unsigned ol = t->alpn[i];
    for (unsigned j = 0; j < inlen;) {
      unsigned cl = in[j];
      if (j + 1 + cl > inlen) break; /* malformed list from the client */
      if (cl == ol && memcmp(in + j + 1, ours, ol) == 0) {
        *out = in + j + 1;
        *outlen = (unsigned char)cl;
        return SSL_TLSEXT_ERR_OK;
      }
      j += 1 + cl;
    }
  }
  return SSL_TLSEXT_ERR_NOACK; /* no common protocol: go on without ALPN (HTTP/1.1) */
}

wire_tls_server *wire_tls_server_new(const wire_tls_config *cfg, const char *const *alpn, wire_err *err) {
  if (!cfg || !cfg->cert_file || !*cfg->cert_file || !cfg->key_file || !*cfg->key_file) {
    wire_err_set(err, WIRE_E_INVALID, "tls: a server needs cert_file and key_file");
    return NULL;
  }
  wire_tls_server *t = calloc(1, sizeof *t);
  if (!t) {
    wire_err_set(err, WIRE_E_NOMEM, "tls: out of memory");
    return NULL;
  }
  ERR_clear_error();
  t->ctx = SSL_CTX_new(TLS_server_method());
  if (!t->ctx) {
    tls_err(err, "cannot create a server context");
    goto fail;
  }
  if (set_min_version(t->ctx, cfg->min_version, err) < 0) goto fail;
  SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_options(t->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                  SSL_OP_NO_RENEGOTIATION);
  /* Read-ahead: one recv fills OpenSSL's buffer with as many records as arrived (half the syscalls); the
   * listener checks SSL_has_pending, since buffered records do not make the socket readable. */
  SSL_CTX_set_read_ahead(t->ctx, 1);
  if (load_cert_and_key(t->ctx, cfg->cert_file, cfg->key_file, err) < 0) goto fail;
  if (cfg->client_ca_file && *cfg->client_ca_file) {
    if (SSL_CTX_load_verify_locations(t->ctx, cfg->client_ca_file, NULL) != 1) {
      tls_err(err, "cannot load client CA file %s", cfg->client_ca_file);
      goto fail;
    }
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->client_ca_file);
    if (names) SSL_CTX_set_client_CA_list(t->ctx, names);
    ERR_clear_error();
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
  }
  if (alpn && alpn[0]) {
    int n = alpn_encode(alpn, t->alpn, sizeof t->alpn);
    if (n < 0) {
      wire_err_set(err, WIRE_E_INVALID, "tls: invalid ALPN protocol list");
      goto fail;
    }
    t->alpn_len = (unsigned)n;
    SSL_CTX_set_alpn_select_cb(t->ctx, alpn_select, t);
  }
  return t;
fail:
  wire_tls_server_free(t);
  return NULL;
}

void wire_tls_server_free(wire_tls_server *t) {
  if (!t) return;
  SSL_CTX_free(t->ctx);
  free(t);
}

SSL *wire_tls_server_ssl(wire_tls_server *t, int fd, wire_err *err) {
  SSL *ssl = ssl_on_fd(t->ctx, fd, err);
  if (ssl) SSL_set_accept_state(ssl);
  return ssl;
}

/* ---- TLS on one client connection (conn.c waits; these make one attempt each) ----------------------- */

/* Describes a failed SSL call: the verification result when it failed, else OpenSSL's reason or errno. */
static wire_tls_step conn_fail(SSL *ssl, int ssl_err, int saved_errno, const char *what, const char *name,
                               wire_err *err) {
  if (ssl_err == SSL_ERROR_SYSCALL) {
    ERR_clear_error();
    if (saved_errno == 0)
      wire_err_set(err, WIRE_E_IO, "%s %s: connection closed by peer", what, name);
    else
      wire_err_set(err, WIRE_E_IO, "%s %s: %s", what, name, strerror(saved_errno));
    return WIRE_TLS_FAILED;
  }
  long vr = SSL_get_verify_result(ssl);
  char why[200];
  wire_tls_error_text(why, sizeof why);
  if (vr != X509_V_OK)
    wire_err_set(err, WIRE_E_TLS, "%s %s: certificate verify failed: %s", what, name,
                 X509_verify_cert_error_string(vr));
  else
    wire_err_set(err, WIRE_E_TLS, "%s %s: %s", what, name, why);
  return WIRE_TLS_FAILED;
}

static wire_tls_step want(int ssl_err) {
  if (ssl_err == SSL_ERROR_WANT_READ) return WIRE_TLS_WANT_READ;
  if (ssl_err == SSL_ERROR_WANT_WRITE) return WIRE_TLS_WANT_WRITE;
  return WIRE_TLS_FAILED;
}

wire_tls_step wire_tls_conn_handshake(SSL *ssl, const char *name, char *alpn, size_t alpn_cap, wire_err *err) {
  ERR_clear_error();
  errno = 0;
  int r = SSL_connect(ssl);
  if (r != 1) {
    int saved = errno;
    int e = SSL_get_error(ssl, r);
    wire_tls_step w = want(e);
    if (w != WIRE_TLS_FAILED) return w;
    return conn_fail(ssl, e, saved, "tls handshake with", name, err);
  }
  const unsigned char *proto = NULL;
  unsigned plen = 0;
  SSL_get0_alpn_selected(ssl, &proto, &plen);
  if (alpn_cap) alpn[0] = '\0';
  if (proto && plen && plen < alpn_cap) {
    memcpy(alpn, proto, plen);
    alpn[plen] = '\0';
  }
  return WIRE_TLS_DONE;
}

wire_tls_step wire_tls_conn_write(SSL *ssl, const void *p, int n, int *n_done, const char *name, wire_err *err) {
  ERR_clear_error();
  errno = 0;
  int r = SSL_write(ssl, p, n);
  if (r > 0) {
    *n_done = r;
    return WIRE_TLS_DONE;
  }
  int saved = errno;
  int e = SSL_get_error(ssl, r);
  wire_tls_step w = want(e);
  if (w != WIRE_TLS_FAILED) return w;
  if (e == SSL_ERROR_ZERO_RETURN) {
    wire_err_set(err, WIRE_E_IO, "write %s: connection closed by peer", name);
    return WIRE_TLS_FAILED;
  }
  return conn_fail(ssl, e, saved, "write", name, err);
}

wire_tls_step wire_tls_conn_read(SSL *ssl, void *p, int cap, int *n_done, const char *name, wire_err *err) {
  ERR_clear_error();
  errno = 0;
  int r = SSL_read(ssl, p, cap);
  if (r > 0) {
    *n_done = r;
    return WIRE_TLS_DONE;
  }
  int saved = errno;
  int e = SSL_get_error(ssl, r);
  wire_tls_step w = want(e);
  if (w != WIRE_TLS_FAILED) return w;
  if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && saved == 0)) {
    ERR_clear_error();
    return WIRE_TLS_EOF;
  }
  return conn_fail(ssl, e, saved, "read", name, err);
}

wire_tls_step wire_tls_conn_peek(SSL *ssl) {
  char b;
  ERR_clear_error();
  int n = SSL_peek(ssl, &b, 1);
  if (n > 0) return WIRE_TLS_DONE;
  int e = SSL_get_error(ssl, n);
  ERR_clear_error();
  wire_tls_step w = want(e);
  if (w != WIRE_TLS_FAILED) return w;
  if (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL) return WIRE_TLS_EOF;
  return WIRE_TLS_FAILED;
}

bool wire_tls_conn_pending(SSL *ssl) { return SSL_pending(ssl) > 0; }

void wire_tls_conn_close(SSL *ssl, bool send_close_notify) {
  if (!ssl) return;
  if (send_close_notify) {
    ERR_clear_error();
    (void)SSL_shutdown(ssl); /* send close_notify once, without waiting for the peer's */
  }
  SSL_free(ssl);
  ERR_clear_error();
}
