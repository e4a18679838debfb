/* tls.c — OpenSSL contexts for otelc's clients and servers (see tls.h).
 *
 * A context (SSL_CTX) is built once from a wire_tls_config; each connection gets an SSL from it bound to its
 * socket through a small BIO of our own, the "socket BIO without SIGPIPE": OpenSSL's socket BIO writes with
 * write(2), which raises SIGPIPE when the peer has gone, and a library must not kill (or require signal
 * settings from) its host process. Ours writes with send(MSG_NOSIGNAL) and otherwise behaves like
 * BIO_s_socket (non-blocking retry flags, EOF flag for OpenSSL's unexpected-EOF detection).
 *
 * Certificates and keys come from files or inline PEM (the Collector's cert_pem/key_pem/ca_pem); PEM text is
 * never quoted in errors, and the copy kept for reloads is wiped when freed. Encrypted keys fail to load rather
 * than prompting for a passphrase on a terminal. With reload_interval_ms the context is rebuilt from the config
 * (files read again) when a connection is set up that long after the last build — the Collector's
 * reload_interval: certificates rotated on disk are picked up without a restart; connections already open keep
 * the context they were made from (OpenSSL counts references). */
#include "wire/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

/* ---- the configuration, kept for reloads ------------------------------------------------------------ */

/* A deep copy of a wire_tls_config: contexts are rebuilt from it (reload_interval_ms). */
typedef struct tls_source {
  wire_tls_config cfg; /* its strings point into the copies below */
  char *strings[12];
  size_t nstrings;
  char **ciphers;
} tls_source;

static const char *keep(tls_source *s, const char *v, bool *ok) {
  if (!v) return NULL;
  char *c = strdup(v);
  if (!c) {
    *ok = false;
    return NULL;
  }
  s->strings[s->nstrings++] = c;
  return c;
}

static void source_free(tls_source *s) {
  for (size_t i = 0; i < s->nstrings; i++) {
    OPENSSL_cleanse(s->strings[i], strlen(s->strings[i])); /* key_pem is among them */
    free(s->strings[i]);
  }
  if (s->ciphers)
    for (size_t i = 0; i < s->cfg.ncipher_suites; i++) free(s->ciphers[i]);
  free(s->ciphers);
  memset(s, 0, sizeof *s);
}

static int source_copy(tls_source *s, const wire_tls_config *in, wire_err *err) {
  memset(s, 0, sizeof *s);
  s->cfg = *in;
  bool ok = true;
  s->cfg.ca_file = keep(s, in->ca_file, &ok);
  s->cfg.ca_pem = keep(s, in->ca_pem, &ok);
  s->cfg.cert_file = keep(s, in->cert_file, &ok);
  s->cfg.key_file = keep(s, in->key_file, &ok);
  s->cfg.client_ca_file = keep(s, in->client_ca_file, &ok);
  s->cfg.server_name = keep(s, in->server_name, &ok);
  s->cfg.min_version = keep(s, in->min_version, &ok);
  s->cfg.cert_pem = keep(s, in->cert_pem, &ok);
  s->cfg.key_pem = keep(s, in->key_pem, &ok);
  s->cfg.max_version = keep(s, in->max_version, &ok);
  s->cfg.cipher_suites = NULL;
  s->cfg.ncipher_suites = 0;
  if (ok && in->ncipher_suites && in->cipher_suites) {
    s->ciphers = calloc(in->ncipher_suites, sizeof *s->ciphers);
    ok = s->ciphers != NULL;
    for (size_t i = 0; ok && i < in->ncipher_suites; i++) {
      s->ciphers[i] = strdup(in->cipher_suites[i] ? in->cipher_suites[i] : "");
      ok = s->ciphers[i] != NULL;
      s->cfg.ncipher_suites = i + 1;
    }
    s->cfg.cipher_suites = (const char *const *)s->ciphers;
  }
  if (!ok) {
    source_free(s);
    return wire_err_set(err, WIRE_E_NOMEM, "tls: out of memory");
  }
  return 0;
}

static bool set(const char *s) { return s && *s; }

/* What clients and servers both hold: a context, the configuration it is rebuilt from, and when to rebuild it. */
typedef struct tls_ctx_holder {
  pthread_mutex_t mu; /* guards ctx and next_reload_ns (reloads) */
  SSL_CTX *ctx;
  tls_source src;
  int64_t next_reload_ns;
} tls_ctx_holder;

struct wire_tls_client {
  tls_ctx_holder h; /* first: holder_new allocates the whole object */
  const char *server_name; /* overrides the endpoint's host for SNI and verification (in src) */
  bool insecure;
};
_Static_assert(offsetof(struct wire_tls_client, h) == 0, "holder_new needs the holder first");

struct wire_tls_server {
  tls_ctx_holder h; /* first: holder_new allocates the whole object */
  unsigned char alpn[256]; /* the server's protocols in wire format (length-prefixed), preference order */
  unsigned alpn_len;
};
_Static_assert(offsetof(struct wire_tls_server, h) == 0, "holder_new needs the holder first");

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

/* "1.2" / "TLS1.2" / "TLSv1.2" → TLS1_2_VERSION; 0 when NULL/empty; -1 when unknown. */
static int version_of(const char *v) {
  if (!set(v)) return 0;
  if (!strncasecmp(v, "TLSv", 4))
    v += 4;
  else if (!strncasecmp(v, "TLS", 3))
    v += 3;
  if (strcmp(v, "1.2") == 0) return TLS1_2_VERSION;
  if (strcmp(v, "1.3") == 0) return TLS1_3_VERSION;
  return -1;
}

static int set_versions(SSL_CTX *ctx, const char *min_v, const char *max_v, wire_err *err) {
  int lo = version_of(min_v), hi = version_of(max_v);
  if (lo < 0) return wire_err_set(err, WIRE_E_INVALID, "tls: min_version must be \"1.2\" or \"1.3\"");
  if (hi < 0) return wire_err_set(err, WIRE_E_INVALID, "tls: max_version must be \"1.2\" or \"1.3\"");
  if (lo == 0) lo = TLS1_2_VERSION;
  if (hi && hi < lo) return wire_err_set(err, WIRE_E_INVALID, "tls: max_version is below min_version");
  if (!SSL_CTX_set_min_proto_version(ctx, lo)) return tls_err(err, "cannot set the minimum version");
  if (hi && !SSL_CTX_set_max_proto_version(ctx, hi)) return tls_err(err, "cannot set the maximum version");
  return 0;
}

/* IANA cipher suite names (the Collector's, Go's) to OpenSSL's lists: TLS 1.3 suites keep their names
 * (SSL_CTX_set_ciphersuites), TLS 1.2 ones are translated (OPENSSL_cipher_name). */
static int set_cipher_suites(SSL_CTX *ctx, const char *const *names, size_t n, wire_err *err) {
  if (!n) return 0;
  char v12[1024] = "", v13[512] = "";
  for (size_t i = 0; i < n; i++) {
    const char *name = names[i];
    bool tls13 = !strncmp(name, "TLS_AES_", 8) || !strncmp(name, "TLS_CHACHA20_", 13);
    const char *ossl = tls13 ? name : OPENSSL_cipher_name(name);
    if (!ossl || !*ossl || !strcmp(ossl, "(NONE)"))
      return wire_err_set(err, WIRE_E_INVALID, "tls: unknown cipher suite \"%.100s\"", name);
    char *list = tls13 ? v13 : v12;
    size_t cap = tls13 ? sizeof v13 : sizeof v12, len = strlen(list);
    if (len + strlen(ossl) + 2 > cap) return wire_err_set(err, WIRE_E_LIMIT, "tls: too many cipher suites");
    snprintf(list + len, cap - len, "%s%s", len ? ":" : "", ossl);
  }
  ERR_clear_error();
  if (v12[0] && SSL_CTX_set_cipher_list(ctx, v12) != 1) return tls_err(err, "cannot use cipher_suites");
  if (v13[0] && SSL_CTX_set_ciphersuites(ctx, v13) != 1) return tls_err(err, "cannot use cipher_suites");
  return 0;
}

/* Passphrase callback: there is none (an encrypted key fails to load instead of prompting on a terminal). */
static int no_passphrase(char *buf, int size, int rwflag, void *u) {
  (void)buf, (void)size, (void)rwflag, (void)u;
  return 0;
}

/* The certificate chain from inline PEM: the first certificate is the leaf, the others its chain. */
static int use_cert_pem(SSL_CTX *ctx, const char *pem, wire_err *err) {
  BIO *bio = BIO_new_mem_buf(pem, -1);
  if (!bio) return tls_err(err, "cannot read cert_pem");
  X509 *leaf = PEM_read_bio_X509_AUX(bio, NULL, no_passphrase, NULL);
  if (!leaf) {
    BIO_free(bio);
    ERR_clear_error();
    return wire_err_set(err, WIRE_E_TLS, "tls: cert_pem contains no PEM certificate");
  }
  int ok = SSL_CTX_use_certificate(ctx, leaf);
  X509_free(leaf);
  if (ok != 1) {
    BIO_free(bio);
    return tls_err(err, "cannot use cert_pem");
  }
  SSL_CTX_clear_chain_certs(ctx);
  X509 *x;
  while ((x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)) != NULL) {
    if (SSL_CTX_add0_chain_cert(ctx, x) != 1) { /* takes x on success */
      X509_free(x);
      BIO_free(bio);
      return tls_err(err, "cannot use the chain in cert_pem");
    }
  }
  BIO_free(bio);
  ERR_clear_error(); /* the loop ends with "no start line" */
  return 0;
}

static int use_key_pem(SSL_CTX *ctx, const char *pem, wire_err *err) {
  BIO *bio = BIO_new_mem_buf(pem, -1);
  if (!bio) return tls_err(err, "cannot read key_pem");
  EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
  BIO_free(bio);
  if (!key) return tls_err(err, "cannot load key_pem (an unencrypted PEM private key)");
  int ok = SSL_CTX_use_PrivateKey(ctx, key);
  EVP_PKEY_free(key);
  if (ok != 1) return tls_err(err, "cannot use key_pem");
  return 0;
}

/* The certificate and key, each from its file or inline PEM, and their match. */
static int load_cert_and_key(SSL_CTX *ctx, const wire_tls_config *cfg, wire_err *err) {
  bool cert_inline = set(cfg->cert_pem), key_inline = set(cfg->key_pem);
  if (!(cert_inline || set(cfg->cert_file)) || !(key_inline || set(cfg->key_file)))
    return wire_err_set(err, WIRE_E_INVALID, "tls: a certificate (cert_file or cert_pem) and a key (key_file or "
                                             "key_pem) must be set together");
  ERR_clear_error();
  SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
  if (cert_inline) {
    if (use_cert_pem(ctx, cfg->cert_pem, err) < 0) return -1;
  } else if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1) {
    return tls_err(err, "cannot load certificate file %s", cfg->cert_file);
  }
  if (key_inline) {
    if (use_key_pem(ctx, cfg->key_pem, err) < 0) return -1;
  } else if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1) {
    return tls_err(err, "cannot load key file %s", cfg->key_file);
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    if (key_inline) return tls_err(err, "key_pem does not match the certificate");
    return tls_err(err, "key file %s does not match the certificate", cfg->key_file);
  }
  return 0;
}

static int load_ca_pem(SSL_CTX *ctx, const char *pem, wire_err *err) {
  ERR_clear_error();
  BIO *bio = BIO_new_mem_buf(pem, -1);
  if (!bio) return tls_err(err, "cannot read ca_pem");
  X509_STORE *store = SSL_CTX_get_cert_store(ctx);
  int count = 0;
  X509 *x;
  while ((x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)) != NULL) {
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

/* Rebuilds *ctx from the source when reload_interval_ms has passed since the last build (on failure the previous
 * context stays, and the next connection after another interval tries again). With mu held. */
typedef SSL_CTX *(*ctx_builder)(void *owner, wire_err *err);

static void maybe_reload(SSL_CTX **ctx, int64_t *next_ns, uint64_t interval_ms, ctx_builder build, void *owner) {
  if (!interval_ms) return;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  int64_t now = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
  if (now < *next_ns) return;
  *next_ns = now + (int64_t)interval_ms * 1000000LL;
  wire_err e = {0};
  SSL_CTX *fresh = build(owner, &e);
  if (!fresh) return;
  SSL_CTX_free(*ctx); /* connections made from it hold their own references */
  *ctx = fresh;
}

static int64_t next_reload_ns(uint64_t interval_ms) {
  if (!interval_ms) return 0;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec + (int64_t)interval_ms * 1000000LL;
}

/* Frees an object made by holder_new (its holder, then the object). */
static void holder_delete(tls_ctx_holder *h) {
  SSL_CTX_free(h->ctx);
  source_free(&h->src);
  pthread_mutex_destroy(&h->mu);
  free(h);
}

/* A zeroed object of `size` bytes whose first member is a holder, started: its lock and its copy of cfg. The
 * context is built afterwards (holder_build), once the object is complete. NULL (err set) on failure. */
static void *holder_new(size_t size, const wire_tls_config *cfg, wire_err *err) {
  tls_ctx_holder *h = calloc(1, size);
  if (!h) {
    wire_err_set(err, WIRE_E_NOMEM, "tls: out of memory");
    return NULL;
  }
  pthread_mutex_init(&h->mu, NULL);
  if (source_copy(&h->src, cfg, err) < 0) {
    holder_delete(h);
    return NULL;
  }
  return h;
}

/* The first build of the holder's context (owner: the client or server build reads). */
static int holder_build(tls_ctx_holder *h, ctx_builder build, void *owner, wire_err *err) {
  h->ctx = build(owner, err);
  if (!h->ctx) return -1;
  h->next_reload_ns = next_reload_ns(h->src.cfg.reload_interval_ms);
  return 0;
}

/* A new SSL on fd from the holder's context, rebuilt first when its reload interval has passed. */
static SSL *holder_ssl(tls_ctx_holder *h, int fd, ctx_builder build, void *owner, wire_err *err) {
  pthread_mutex_lock(&h->mu);
  maybe_reload(&h->ctx, &h->next_reload_ns, h->src.cfg.reload_interval_ms, build, owner);
  SSL *ssl = ssl_on_fd(h->ctx, fd, err);
  pthread_mutex_unlock(&h->mu);
  return ssl;
}

/* A context for either side with what both share: versions, cipher suites, and partial writes from a moving
 * buffer (our writers retry non-blocking writes from their own queues). `side` names it in errors. */
static SSL_CTX *new_ctx(const SSL_METHOD *method, const char *side, const wire_tls_config *cfg, wire_err *err) {
  ERR_clear_error();
  SSL_CTX *ctx = SSL_CTX_new(method);
  if (!ctx) {
    tls_err(err, "cannot create a %s context", side);
    return NULL;
  }
  if (set_versions(ctx, cfg->min_version, cfg->max_version, err) < 0 ||
      set_cipher_suites(ctx, cfg->cipher_suites, cfg->ncipher_suites, err) < 0) {
    SSL_CTX_free(ctx);
    return NULL;
  }
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return ctx;
}

/* ---- client ---------------------------------------------------------------------------------------- */

static SSL_CTX *build_client_ctx(void *owner, wire_err *err) {
  const wire_tls_config *cfg = &((wire_tls_client *)owner)->h.src.cfg;
  SSL_CTX *ctx = new_ctx(TLS_client_method(), "client", cfg, err);
  if (!ctx) return NULL;
  /* Unexpected EOF (no close_notify) reads as a plain EOF: many servers close that way, and HTTP framing
   * detects truncated messages itself. */
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (cfg->insecure_skip_verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    bool own_ca = set(cfg->ca_pem) || set(cfg->ca_file);
    if (set(cfg->ca_pem)) {
      if (load_ca_pem(ctx, cfg->ca_pem, err) < 0) goto fail;
    } else if (set(cfg->ca_file)) {
      if (SSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL) != 1) {
        tls_err(err, "cannot load CA file %s", cfg->ca_file);
        goto fail;
      }
    }
    if ((!own_ca || cfg->include_system_ca) && SSL_CTX_set_default_verify_paths(ctx) != 1) {
      tls_err(err, "cannot load the system's CA certificates");
      goto fail;
    }
  }
  if (set(cfg->cert_file) || set(cfg->key_file) || set(cfg->cert_pem) || set(cfg->key_pem))
    if (load_cert_and_key(ctx, cfg, err) < 0) goto fail;
  return ctx;
fail:
  SSL_CTX_free(ctx);
  return NULL;
}

wire_tls_client *wire_tls_client_new(const wire_tls_config *cfg, wire_err *err) {
  static const wire_tls_config defaults;
  if (!cfg) cfg = &defaults;
  wire_tls_client *t = holder_new(sizeof *t, cfg, err);
  if (!t) return NULL;
  t->insecure = cfg->insecure_skip_verify;
  t->server_name = set(t->h.src.cfg.server_name) ? t->h.src.cfg.server_name : NULL;
  if (holder_build(&t->h, build_client_ctx, t, err) < 0) {
    holder_delete(&t->h);
    return NULL;
  }
  return t;
}

void wire_tls_client_free(wire_tls_client *t) {
  if (t) holder_delete(&t->h);
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
  SSL *ssl = holder_ssl(&t->h, fd, build_client_ctx, t, err);
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

static SSL_CTX *build_server_ctx(void *owner, wire_err *err) {
  wire_tls_server *t = owner;
  const wire_tls_config *cfg = &t->h.src.cfg;
  SSL_CTX *ctx = new_ctx(TLS_server_method(), "server", cfg, err);
  if (!ctx) return NULL;
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
  /* Read-ahead: one recv fills OpenSSL's buffer with as many records as arrived (half the syscalls); the
   * listener checks SSL_has_pending, since buffered records do not make the socket readable. */
  SSL_CTX_set_read_ahead(ctx, 1);
  if (load_cert_and_key(ctx, cfg, err) < 0) goto fail;
  if (set(cfg->client_ca_file)) {
    if (SSL_CTX_load_verify_locations(ctx, cfg->client_ca_file, NULL) != 1) {
      tls_err(err, "cannot load client CA file %s", cfg->client_ca_file);
      goto fail;
    }
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->client_ca_file);
    if (names) SSL_CTX_set_client_CA_list(ctx, names);
    ERR_clear_error();
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
  }
  if (t->alpn_len) SSL_CTX_set_alpn_select_cb(ctx, alpn_select, t);
  return ctx;
fail:
  SSL_CTX_free(ctx);
  return NULL;
}

wire_tls_server *wire_tls_server_new(const wire_tls_config *cfg, const char *const *alpn, wire_err *err) {
  if (!cfg || !(set(cfg->cert_file) || set(cfg->cert_pem)) || !(set(cfg->key_file) || set(cfg->key_pem))) {
    wire_err_set(err, WIRE_E_INVALID, "tls: a server needs a certificate and a key (cert_file/cert_pem, "
                                      "key_file/key_pem)");
    return NULL;
  }
  wire_tls_server *t = holder_new(sizeof *t, cfg, err);
  if (!t) return NULL;
  if (alpn && alpn[0]) {
    int n = alpn_encode(alpn, t->alpn, sizeof t->alpn);
    if (n < 0) {
      wire_err_set(err, WIRE_E_INVALID, "tls: invalid ALPN protocol list");
      holder_delete(&t->h);
      return NULL;
    }
    t->alpn_len = (unsigned)n;
  }
  if (holder_build(&t->h, build_server_ctx, t, err) < 0) {
    holder_delete(&t->h);
    return NULL;
  }
  return t;
}

void wire_tls_server_free(wire_tls_server *t) {
  if (t) holder_delete(&t->h);
}

SSL *wire_tls_server_ssl(wire_tls_server *t, int fd, wire_err *err) {
  SSL *ssl = holder_ssl(&t->h, fd, build_server_ctx, t, err);
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

static int ssl_write_io(SSL *ssl, void *p, int n) { return SSL_write(ssl, p, n); }
static int ssl_read_io(SSL *ssl, void *p, int n) { return SSL_read(ssl, p, n); }

/* One SSL_write or SSL_read attempt (io): DONE with *n_done, a WANT step, or FAILED with the SSL error in *ssl_err
 * and errno in *saved_errno for the caller to tell apart and describe. */
static wire_tls_step io_attempt(SSL *ssl, int (*io)(SSL *, void *, int), void *p, int n, int *n_done, int *ssl_err,
                                int *saved_errno) {
  ERR_clear_error();
  errno = 0;
  int r = io(ssl, p, n);
  if (r > 0) {
    *n_done = r;
    return WIRE_TLS_DONE;
  }
  *saved_errno = errno;
  *ssl_err = SSL_get_error(ssl, r);
  return want(*ssl_err);
}

wire_tls_step wire_tls_conn_write(SSL *ssl, const void *p, int n, int *n_done, const char *name, wire_err *err) {
  int e = 0, saved = 0;
  wire_tls_step w = io_attempt(ssl, ssl_write_io, (void *)p, n, n_done, &e, &saved);
  if (w != WIRE_TLS_FAILED) return w;
  if (e == SSL_ERROR_ZERO_RETURN) {
    wire_err_set(err, WIRE_E_IO, "write %s: connection closed by peer", name);
    return WIRE_TLS_FAILED;
  }
  return conn_fail(ssl, e, saved, "write", name, err);
}

wire_tls_step wire_tls_conn_read(SSL *ssl, void *p, int cap, int *n_done, const char *name, wire_err *err) {
  int e = 0, saved = 0;
  wire_tls_step w = io_attempt(ssl, ssl_read_io, p, cap, n_done, &e, &saved);
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
