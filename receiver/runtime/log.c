/* log.c — the receiver's structured logger (see log.h): formats a line into a bounded buffer (text or JSON),
 * redacts credential-like fields, escapes control characters, and writes the line with one write(2) per
 * output under a mutex. */
#include "receiver/runtime/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 8192
#define LOG_MAX_OUTPUTS 8

struct rt_logger {
  pthread_mutex_t mu;
  _Atomic int level;
  int encoding;
  int fds[LOG_MAX_OUTPUTS];
  bool owned[LOG_MAX_OUTPUTS]; /* opened here (closed on reconfigure/free) */
  size_t nfds;
  int redirect_fd;
  char **initial; /* initial_fields: key, value, key, value... */
  size_t ninitial;
};

const char *rt_log_level_name(log_level level) {
  switch (level) {
  case LOG_DEBUG: return "debug";
  case LOG_INFO: return "info";
  case LOG_WARN: return "warn";
  case LOG_ERROR: return "error";
  }
  return "info";
}

/* ---- configuration ---- */

typedef struct log_outputs {
  int fds[LOG_MAX_OUTPUTS];
  bool owned[LOG_MAX_OUTPUTS];
  size_t n;
  char **initial;
  size_t ninitial;
} log_outputs;

static void outputs_close(log_outputs *o) {
  for (size_t i = 0; i < o->n; i++)
    if (o->owned[i]) close(o->fds[i]);
  for (size_t i = 0; i < o->ninitial; i++) free(o->initial[i]);
  free(o->initial);
  memset(o, 0, sizeof *o);
}

static int outputs_open(const telemetry_logs_config *cfg, log_outputs *o, wire_err *err) {
  memset(o, 0, sizeof *o);
  size_t npaths = cfg ? cfg->output_paths.n : 0;
  if (npaths == 0) {
    o->fds[o->n++] = STDERR_FILENO;
  }
  for (size_t i = 0; i < npaths && o->n < LOG_MAX_OUTPUTS; i++) {
    const char *p = cfg->output_paths.v[i];
    if (!strcmp(p, "stderr")) {
      o->fds[o->n++] = STDERR_FILENO;
    } else if (!strcmp(p, "stdout")) {
      o->fds[o->n++] = STDOUT_FILENO;
    } else {
      int fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd < 0) {
        wire_err_set(err, WIRE_E_IO, "log: cannot open output %s: %s", p, strerror(errno));
        outputs_close(o);
        return -1;
      }
      o->owned[o->n] = true;
      o->fds[o->n++] = fd;
    }
  }
  if (cfg && cfg->initial_fields.n) {
    o->initial = calloc(cfg->initial_fields.n * 2, sizeof *o->initial);
    if (!o->initial) {
      outputs_close(o);
      return wire_err_set(err, WIRE_E_NOMEM, "log: out of memory");
    }
    for (size_t i = 0; i < cfg->initial_fields.n; i++) {
      o->initial[o->ninitial++] = strdup(cfg->initial_fields.v[i].key);
      o->initial[o->ninitial++] = strdup(cfg->initial_fields.v[i].value ? cfg->initial_fields.v[i].value : "");
    }
  }
  return 0;
}

rt_logger *rt_logger_new(const telemetry_logs_config *cfg, wire_err *err) {
  rt_logger *l = calloc(1, sizeof *l);
  if (!l) {
    wire_err_set(err, WIRE_E_NOMEM, "log: out of memory");
    return NULL;
  }
  pthread_mutex_init(&l->mu, NULL);
  l->redirect_fd = -1;
  l->level = LOG_INFO;
  if (rt_logger_configure(l, cfg, err) < 0) {
    pthread_mutex_destroy(&l->mu);
    free(l);
    return NULL;
  }
  return l;
}

int rt_logger_configure(rt_logger *l, const telemetry_logs_config *cfg, wire_err *err) {
  log_outputs o;
  if (outputs_open(cfg, &o, err) < 0) return -1;
  pthread_mutex_lock(&l->mu);
  log_outputs old = {.n = l->nfds, .initial = l->initial, .ninitial = l->ninitial};
  memcpy(old.fds, l->fds, sizeof old.fds);
  memcpy(old.owned, l->owned, sizeof old.owned);
  memcpy(l->fds, o.fds, sizeof o.fds);
  memcpy(l->owned, o.owned, sizeof o.owned);
  l->nfds = o.n;
  l->initial = o.initial;
  l->ninitial = o.ninitial;
  l->encoding = cfg ? cfg->encoding : LOG_ENCODING_CONSOLE;
  l->level = cfg ? cfg->level : LOG_INFO; /* LOG_LEVEL_* and log_level share their values */
  pthread_mutex_unlock(&l->mu);
  outputs_close(&old);
  return 0;
}

void rt_logger_redirect(rt_logger *l, int fd) {
  pthread_mutex_lock(&l->mu);
  l->redirect_fd = fd;
  pthread_mutex_unlock(&l->mu);
}

void rt_logger_free(rt_logger *l) {
  if (!l) return;
  log_outputs old = {.n = l->nfds, .initial = l->initial, .ninitial = l->ninitial};
  memcpy(old.fds, l->fds, sizeof old.fds);
  memcpy(old.owned, l->owned, sizeof old.owned);
  outputs_close(&old);
  pthread_mutex_destroy(&l->mu);
  free(l);
}

bool rt_log_enabled(const rt_logger *l, log_level level) { return l && (int)level >= l->level; }

/* ---- formatting ---- */

typedef struct line {
  char buf[LOG_LINE_MAX];
  size_t len;
  bool truncated;
  bool fields; /* a field was written (text: the first one follows a tab, the others a space) */
} line;

static void put(line *ln, const char *s, size_t n) {
  size_t room = sizeof ln->buf - 8 - ln->len; /* keep room for "...\n" */
  if (n > room) {
    n = room;
    ln->truncated = true;
  }
  memcpy(ln->buf + ln->len, s, n);
  ln->len += n;
}
static void puts_(line *ln, const char *s) { put(ln, s, strlen(s)); }
static void putc_(line *ln, char c) { put(ln, &c, 1); }

/* Escapes s for a JSON string body (also used for quoted text values). */
static void put_escaped(line *ln, const char *s, bool json) {
  for (const unsigned char *p = (const unsigned char *)s; *p && !ln->truncated; p++) {
    unsigned char c = *p;
    if (c == '"' || c == '\\') {
      putc_(ln, '\\');
      putc_(ln, (char)c);
    } else if (c == '\n') {
      puts_(ln, "\\n");
    } else if (c == '\r') {
      puts_(ln, "\\r");
    } else if (c == '\t') {
      puts_(ln, "\\t");
    } else if (c < 0x20 || c == 0x7f) {
      char tmp[8];
      snprintf(tmp, sizeof tmp, json ? "\\u%04x" : "\\x%02x", c);
      puts_(ln, tmp);
    } else {
      putc_(ln, (char)c);
    }
  }
}

static bool needs_quotes(const char *s) {
  if (!*s) return true;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 0x7f) return true;
  return false;
}

static bool is_secret_key(const char *k) {
  static const char *const words[] = {"token", "password", "passwd", "secret", "authorization", "api_key",
                                      "apikey", "credential", "cookie"};
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
    size_t n = strlen(words[i]);
    for (const char *p = k; *p; p++)
      if (!strncasecmp(p, words[i], n)) return true;
  }
  return false;
}

static void put_field(line *ln, bool json, const char *key, const char *value) {
  if (is_secret_key(key) && value) value = "[REDACTED]";
  if (json) {
    puts_(ln, ",\"");
    put_escaped(ln, key, true);
    puts_(ln, "\":");
    if (!value) {
      puts_(ln, "null");
    } else {
      putc_(ln, '"');
      put_escaped(ln, value, true);
      putc_(ln, '"');
    }
  } else {
    putc_(ln, ln->fields ? ' ' : '\t');
    ln->fields = true;
    put_escaped(ln, key, false);
    putc_(ln, '=');
    if (!value) {
      puts_(ln, "null");
    } else if (needs_quotes(value)) {
      putc_(ln, '"');
      put_escaped(ln, value, false);
      putc_(ln, '"');
    } else {
      puts_(ln, value);
    }
  }
}

static void format_time(char *out, size_t n) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char base[32];
  strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, n, "%s.%03ldZ", base, ts.tv_nsec / 1000000);
}

static void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;
    }
    p += w;
    n -= (size_t)w;
  }
}

void rt_logv(rt_logger *l, log_level level, const char *component, const char *msg, va_list fields) {
  if (!rt_log_enabled(l, level)) return;
  line *ln = malloc(sizeof *ln); /* 8 KiB: off the stack of exporter threads */
  if (!ln) return;
  ln->len = 0;
  ln->truncated = false;
  ln->fields = false;
  char ts[48];
  format_time(ts, sizeof ts);
  pthread_mutex_lock(&l->mu);
  bool json = l->encoding == LOG_ENCODING_JSON;
  if (json) {
    puts_(ln, "{\"level\":\"");
    puts_(ln, rt_log_level_name(level));
    puts_(ln, "\",\"ts\":\"");
    puts_(ln, ts);
    puts_(ln, "\"");
    if (component) {
      puts_(ln, ",\"component\":\"");
      put_escaped(ln, component, true);
      putc_(ln, '"');
    }
    puts_(ln, ",\"msg\":\"");
    put_escaped(ln, msg ? msg : "", true);
    putc_(ln, '"');
  } else {
    puts_(ln, ts);
    putc_(ln, '\t');
    puts_(ln, rt_log_level_name(level));
    putc_(ln, '\t');
    put_escaped(ln, component ? component : "service", false);
    putc_(ln, '\t');
    put_escaped(ln, msg ? msg : "", false);
  }
  for (size_t i = 0; i + 1 < l->ninitial; i += 2) put_field(ln, json, l->initial[i], l->initial[i + 1]);
  for (;;) {
    const char *k = va_arg(fields, const char *);
    if (!k) break;
    const char *v = va_arg(fields, const char *);
    put_field(ln, json, k, v);
  }
  if (ln->truncated) {
    ln->truncated = false;
    memcpy(ln->buf + ln->len, "...", 3);
    ln->len += 3;
    if (json) ln->buf[ln->len++] = '"';
  }
  if (json) ln->buf[ln->len++] = '}';
  ln->buf[ln->len++] = '\n';
  if (l->redirect_fd >= 0) {
    write_all(l->redirect_fd, ln->buf, ln->len);
  } else {
    for (size_t i = 0; i < l->nfds; i++) write_all(l->fds[i], ln->buf, ln->len);
  }
  pthread_mutex_unlock(&l->mu);
  free(ln);
}

void rt_log(rt_logger *l, log_level level, const char *component, const char *msg, ...) {
  va_list ap;
  va_start(ap, msg);
  rt_logv(l, level, component, msg, ap);
  va_end(ap);
}
