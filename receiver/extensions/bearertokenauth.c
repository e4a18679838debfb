/* bearertokenauth.c — the bearer token authenticator extension (see bearertokenauth.h).
 *
 * Tokens live under a mutex: the server side runs on the loop thread, the client side on exporters' consumer
 * threads. A token file is checked (stat: inode, size, mtime) at most once a second and re-read when it
 * changed; a file that became unreadable keeps the last good tokens (logged once). */
#include "receiver/extensions/bearertokenauth.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "receiver/config/components/extensions.h"
#include "wire/clock.h"

#define TOKEN_FILE_MAX (64 * 1024)
#define RECHECK_NS 1000000000LL

typedef struct bearertokenauth {
  component_auth auth; /* first: host->auth() returns the state as a component_auth */
  component_host *host;
  char *id;
  const bearertokenauth_config *cfg;
  pthread_mutex_t mu;
  char **tokens; /* accepted tokens (without the scheme); the first one is sent by clients */
  size_t ntokens;
  /* token file */
  struct stat seen;
  int64_t next_check_ns;
  bool file_error_logged;
} bearertokenauth;

static void free_tokens(char **v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    OPENSSL_cleanse(v[i], strlen(v[i]));
    free(v[i]);
  }
  free(v);
}

/* Splits a token file into its non-empty lines, trimmed of surrounding whitespace. */
static int parse_token_file(const char *text, size_t len, char ***out, size_t *nout, wire_err *err) {
  char **v = NULL;
  size_t n = 0;
  size_t i = 0;
  while (i < len) {
    size_t j = i;
    while (j < len && text[j] != '\n') j++;
    size_t a = i, b = j;
    while (a < b && (text[a] == ' ' || text[a] == '\t' || text[a] == '\r')) a++;
    while (b > a && (text[b - 1] == ' ' || text[b - 1] == '\t' || text[b - 1] == '\r')) b--;
    if (b > a) {
      char **nv = realloc(v, (n + 1) * sizeof *nv);
      char *t = nv ? malloc(b - a + 1) : NULL;
      if (!nv || !t) {
        free(t);
        free_tokens(nv ? nv : v, n);
        return wire_err_set(err, WIRE_E_NOMEM, "bearertokenauth: out of memory");
      }
      memcpy(t, text + a, b - a);
      t[b - a] = '\0';
      v = nv;
      v[n++] = t;
    }
    i = j + 1;
  }
  *out = v;
  *nout = n;
  return 0;
}

/* Reads the token file; on success replaces the tokens (mu held by the caller, or not yet shared). */
static int load_file(bearertokenauth *b, wire_err *err) {
  const char *path = b->cfg->filename;
  FILE *f = fopen(path, "rbe");
  if (!f) return wire_err_set(err, WIRE_E_IO, "bearertokenauth: cannot open token file %s: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fileno(f), &st) < 0 || st.st_size > TOKEN_FILE_MAX) {
    fclose(f);
    return wire_err_set(err, WIRE_E_LIMIT, "bearertokenauth: token file %s is larger than %d bytes", path,
                        TOKEN_FILE_MAX);
  }
  char *buf = malloc(TOKEN_FILE_MAX + 1);
  if (!buf) {
    fclose(f);
    return wire_err_set(err, WIRE_E_NOMEM, "bearertokenauth: out of memory");
  }
  size_t len = fread(buf, 1, TOKEN_FILE_MAX, f);
  fclose(f);
  char **v = NULL;
  size_t n = 0;
  int rc = parse_token_file(buf, len, &v, &n, err);
  OPENSSL_cleanse(buf, len);
  free(buf);
  if (rc < 0) return -1;
  if (n == 0) {
    free(v);
    return wire_err_set(err, WIRE_E_INVALID, "bearertokenauth: token file %s is empty", path);
  }
  free_tokens(b->tokens, b->ntokens);
  b->tokens = v;
  b->ntokens = n;
  b->seen = st;
  return 0;
}

/* Re-reads the token file when it changed (at most one stat per second). mu held. */
static void maybe_reload(bearertokenauth *b) {
  if (!b->cfg->filename) return;
  int64_t now = wire_now_ns();
  if (now < b->next_check_ns) return;
  b->next_check_ns = now + RECHECK_NS;
  struct stat st;
  bool changed = stat(b->cfg->filename, &st) < 0 || st.st_ino != b->seen.st_ino || st.st_size != b->seen.st_size ||
                 st.st_mtim.tv_sec != b->seen.st_mtim.tv_sec || st.st_mtim.tv_nsec != b->seen.st_mtim.tv_nsec;
  if (!changed) return;
  wire_err err = {0};
  if (load_file(b, &err) < 0) {
    if (!b->file_error_logged)
      b->host->log(b->host, LOG_WARN, b->id, "Cannot re-read the token file; keeping the previous token", "error",
                   err.msg, NULL);
    b->file_error_logged = true;
    return;
  }
  b->file_error_logged = false;
  b->host->log(b->host, LOG_INFO, b->id, "Token file changed; token reloaded", NULL);
}

/* Constant-time comparison of the presented credential with `scheme SP token` (or `token` when the scheme is
 * empty): the time depends on the lengths only, never on where the bytes differ. */
static bool credential_matches(const char *got, size_t got_len, const char *scheme, const char *token) {
  size_t slen = scheme && *scheme ? strlen(scheme) + 1 : 0;
  size_t tlen = strlen(token);
  if (got_len != slen + tlen) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < slen; i++) {
    unsigned char want = i + 1 < slen ? (unsigned char)scheme[i] : ' ';
    diff |= (unsigned char)got[i] ^ want;
  }
  diff |= (unsigned char)(CRYPTO_memcmp(got + slen, token, tlen) != 0);
  return diff == 0;
}

static int authenticate(component_auth *a, const wire_headers *headers, const char **subject, wire_err *err) {
  bearertokenauth *b = (bearertokenauth *)a;
  const char *name = b->cfg->header && *b->cfg->header ? b->cfg->header : "authorization";
  const char *got = wire_headers_get(headers, name);
  if (!got || !*got) return wire_err_set(err, WIRE_E_PROTOCOL, "missing or empty authorization header");
  size_t got_len = strlen(got);
  bool ok = false;
  pthread_mutex_lock(&b->mu);
  maybe_reload(b);
  for (size_t i = 0; i < b->ntokens; i++)
    ok |= credential_matches(got, got_len, b->cfg->scheme, b->tokens[i]); /* no early exit */
  pthread_mutex_unlock(&b->mu);
  if (!ok) return wire_err_set(err, WIRE_E_PROTOCOL, "scheme or token does not match");
  if (subject) *subject = NULL;
  return 0;
}

static int client_headers(component_auth *a, wire_headers *out, wire_err *err) {
  bearertokenauth *b = (bearertokenauth *)a;
  const char *name = b->cfg->header && *b->cfg->header ? b->cfg->header : "authorization";
  pthread_mutex_lock(&b->mu);
  maybe_reload(b);
  int rc;
  if (b->ntokens == 0) {
    rc = wire_err_set(err, WIRE_E_INVALID, "bearertokenauth %s: no token", b->id);
  } else {
    const char *scheme = b->cfg->scheme && *b->cfg->scheme ? b->cfg->scheme : NULL;
    size_t n = (scheme ? strlen(scheme) + 1 : 0) + strlen(b->tokens[0]) + 1;
    char *v = malloc(n);
    if (!v) {
      rc = wire_err_set(err, WIRE_E_NOMEM, "bearertokenauth: out of memory");
    } else {
      snprintf(v, n, "%s%s%s", scheme ? scheme : "", scheme ? " " : "", b->tokens[0]);
      rc = wire_headers_set(out, name, v, err);
      OPENSSL_cleanse(v, n);
      free(v);
    }
  }
  pthread_mutex_unlock(&b->mu);
  return rc;
}

static void destroy(void *state) {
  bearertokenauth *b = state;
  if (!b) return;
  free_tokens(b->tokens, b->ntokens);
  pthread_mutex_destroy(&b->mu);
  free(b->id);
  free(b);
}

static int create(const component_create_args *args, void **state, wire_err *err) {
  const bearertokenauth_config *cfg = args->config;
  bearertokenauth *b = calloc(1, sizeof *b);
  if (!b) return wire_err_set(err, WIRE_E_NOMEM, "out of memory");
  pthread_mutex_init(&b->mu, NULL);
  b->auth.authenticate = authenticate;
  b->auth.client_headers = client_headers;
  b->host = args->host;
  b->cfg = cfg;
  b->id = strdup(args->id);
  if (!b->id) goto nomem;
  if (cfg->filename) {
    if (load_file(b, err) < 0) {
      destroy(b);
      return -1;
    }
    b->next_check_ns = wire_now_ns() + RECHECK_NS;
  } else {
    size_t n = (cfg->token ? 1 : 0) + cfg->tokens.n;
    b->tokens = calloc(n + 1, sizeof *b->tokens);
    if (!b->tokens) goto nomem;
    if (cfg->token && (b->tokens[b->ntokens++] = strdup(cfg->token)) == NULL) goto nomem;
    for (size_t i = 0; i < cfg->tokens.n; i++)
      if ((b->tokens[b->ntokens++] = strdup(cfg->tokens.v[i])) == NULL) goto nomem;
    if (b->ntokens == 0) {
      destroy(b);
      return wire_err_set(err, WIRE_E_INVALID, "needs token, tokens or filename");
    }
  }
  *state = b;
  return 0;
nomem:
  if (b->tokens && b->ntokens && !b->tokens[b->ntokens - 1]) b->ntokens--;
  destroy(b);
  return wire_err_set(err, WIRE_E_NOMEM, "out of memory");
}

const component_hooks bearertokenauth_extension_hooks = {
    .create = create,
    .destroy = destroy,
};
