/* file.c — the `file` exporter (see file.h): a bounded hand-off from the loop thread to one writer thread that
 * encodes (OTLP/JSON lines or length-prefixed protobuf), writes through a stdio buffer, flushes on
 * flush_interval and rotates by size. */
#define _GNU_SOURCE
#include "receiver/exporters/file.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "receiver/config/components/file_exporter.h"
#include "receiver/pipeline.h"
#include "wire/clock.h"
#include "wire/otlp.h"
#include "wire/otlp_json.h"

#define WRITE_BUFFER (64 * 1024)
#define LOG_INTERVAL_NS 1000000000LL

typedef struct file_exp {
  char *id;
  component_host *host;
  char *path;
  int format;
  bool rotate;
  file_rotation_config rotation;
  int64_t flush_interval_ns;
  bool append;

  FILE *f;
  uint64_t file_size; /* bytes in the current file */
  bool dirty;         /* written since the last flush */
  int64_t last_flush_ns;
  wire_buf enc;       /* writer thread: one encoded batch */
  int64_t last_err_log_ns;

  pthread_mutex_t mu;
  pthread_cond_t cv;
  component_metrics *queue[FILE_EXPORTER_QUEUE_MAX];
  size_t head, count;
  bool stop;
  pthread_t thread;
  bool started, shut_down;
} file_exp;

static void flog(file_exp *x, log_level level, const char *msg, const char *k, const char *v) {
  if (x->host && x->host->log) x->host->log(x->host, level, x->id, msg, k, v, (char *)NULL);
}

/* ---- the file and its rotation ---------------------------------------------------------------------- */

static int open_file(file_exp *x, bool truncate, wire_err *err) {
  x->f = fopen(x->path, truncate ? "wb" : "ab");
  if (!x->f) return wire_err_set(err, WIRE_E_IO, "%s: cannot open %s: %s", x->id, x->path, strerror(errno));
  setvbuf(x->f, NULL, _IOFBF, WRITE_BUFFER);
  struct stat st;
  x->file_size = fstat(fileno(x->f), &st) == 0 ? (uint64_t)st.st_size : 0;
  return 0;
}

/* Splits path into directory, the name without its extension, and the extension ("x/out.json" → "x", "out",
 * ".json"). */
static void split_path(const char *path, char *dir, size_t dn, char *stem, size_t sn, char *ext, size_t en) {
  const char *slash = strrchr(path, '/');
  const char *name = slash ? slash + 1 : path;
  if (slash) snprintf(dir, dn, "%.*s", (int)(slash - path == 0 ? 1 : slash - path), path);
  else snprintf(dir, dn, ".");
  const char *dot = strrchr(name, '.');
  if (!dot || dot == name) dot = name + strlen(name);
  snprintf(stem, sn, "%.*s", (int)(dot - name), name);
  snprintf(ext, en, "%s", dot);
}

typedef struct backup {
  char *name;
  time_t mtime;
} backup;

static int cmp_backup(const void *a, const void *b) {
  return strcmp(((const backup *)a)->name, ((const backup *)b)->name); /* the timestamp sorts by name */
}

/* Deletes backups beyond max_backups (oldest first) and older than max_days. */
static void prune_backups(file_exp *x) {
  if (x->rotation.max_backups <= 0 && x->rotation.max_days <= 0) return;
  char dir[4096], stem[1024], ext[256];
  split_path(x->path, dir, sizeof dir, stem, sizeof stem, ext, sizeof ext);
  DIR *d = opendir(dir);
  if (!d) return;
  backup *v = NULL;
  size_t n = 0, cap = 0;
  size_t sl = strlen(stem), el = strlen(ext);
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    const char *nm = de->d_name;
    size_t l = strlen(nm);
    /* <stem>-YYYY-MM-DDTHH-MM-SS.mmm<ext> */
    if (l != sl + 1 + 23 + el || strncmp(nm, stem, sl) || nm[sl] != '-' || strcmp(nm + l - el, ext)) continue;
    if (nm[sl + 11] != 'T') continue;
    if (n == cap) {
      size_t nc = cap ? cap * 2 : 16;
      backup *nv = realloc(v, nc * sizeof *nv);
      if (!nv) break;
      v = nv;
      cap = nc;
    }
    char full[8192];
    snprintf(full, sizeof full, "%s/%s", dir, nm);
    struct stat st;
    v[n].mtime = stat(full, &st) == 0 ? st.st_mtime : 0;
    v[n].name = strdup(nm);
    if (v[n].name) n++;
  }
  closedir(d);
  qsort(v, n, sizeof *v, cmp_backup);
  time_t now = time(NULL);
  for (size_t i = 0; i < n; i++) {
    bool too_many = x->rotation.max_backups > 0 && n - i > (size_t)x->rotation.max_backups;
    bool too_old = x->rotation.max_days > 0 && v[i].mtime && now - v[i].mtime > x->rotation.max_days * 86400;
    if (too_many || too_old) {
      char full[8192];
      snprintf(full, sizeof full, "%s/%s", dir, v[i].name);
      unlink(full);
    }
    free(v[i].name);
  }
  free(v);
}

/* Closes the current file, renames it to its backup name and opens a new one. */
static int rotate(file_exp *x, wire_err *err) {
  if (x->f) {
    fclose(x->f);
    x->f = NULL;
  }
  char dir[4096], stem[1024], ext[256];
  split_path(x->path, dir, sizeof dir, stem, sizeof stem, ext, sizeof ext);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  if (x->rotation.localtime) localtime_r(&ts.tv_sec, &tm);
  else gmtime_r(&ts.tv_sec, &tm);
  char when[64], backup_path[8192];
  strftime(when, sizeof when, "%Y-%m-%dT%H-%M-%S", &tm);
  snprintf(backup_path, sizeof backup_path, "%s/%s-%s.%03ld%s", dir, stem, when, ts.tv_nsec / 1000000, ext);
  for (int i = 1; access(backup_path, F_OK) == 0 && i < 1000; i++) { /* same millisecond: the next one */
    long ms = (ts.tv_nsec / 1000000 + i) % 1000;
    snprintf(backup_path, sizeof backup_path, "%s/%s-%s.%03ld%s", dir, stem, when, ms, ext);
  }
  if (rename(x->path, backup_path) < 0 && errno != ENOENT) {
    int e = errno;
    open_file(x, false, NULL);
    return wire_err_set(err, WIRE_E_IO, "%s: cannot rotate %s: %s", x->id, x->path, strerror(e));
  }
  prune_backups(x);
  return open_file(x, true, err);
}

/* Encodes and writes one batch (writer thread). */
static int write_batch(file_exp *x, component_metrics *m, wire_err *err) {
  wire_buf_reset(&x->enc);
  if (x->format == FILE_FORMAT_PROTO) {
    static const uint8_t zero[4];
    if (wire_buf_append(&x->enc, zero, 4, err) < 0 || !metrics_request(m, err) ||
        wire_otlp_encode_request(m->req, &x->enc, err) < 0)
      return -1;
    uint32_t n = (uint32_t)(x->enc.len - 4);
    x->enc.data[0] = (uint8_t)(n >> 24);
    x->enc.data[1] = (uint8_t)(n >> 16);
    x->enc.data[2] = (uint8_t)(n >> 8);
    x->enc.data[3] = (uint8_t)n;
  } else {
    if (!metrics_request(m, err) || wire_otlp_json_encode_request(m->req, &x->enc, err) < 0 ||
        wire_buf_append(&x->enc, "\n", 1, err) < 0)
      return -1;
  }
  if (x->rotate && x->file_size > 0 &&
      x->file_size + x->enc.len > (uint64_t)x->rotation.max_megabytes * 1024 * 1024 && rotate(x, err) < 0)
    return -1;
  if (!x->f && open_file(x, false, err) < 0) return -1;
  if (fwrite(x->enc.data, 1, x->enc.len, x->f) != x->enc.len)
    return wire_err_set(err, WIRE_E_IO, "%s: cannot write %s: %s", x->id, x->path, strerror(errno));
  x->file_size += x->enc.len;
  x->dirty = true;
  return 0;
}

static void flush_file(file_exp *x) {
  if (x->f && x->dirty) fflush(x->f);
  x->dirty = false;
  x->last_flush_ns = wire_now_ns();
}

/* ---- the writer thread -------------------------------------------------------------------------------- */

static void *writer_main(void *p) {
  file_exp *x = p;
  component_metrics *batch[FILE_EXPORTER_QUEUE_MAX];
  pthread_mutex_lock(&x->mu);
  for (;;) {
    while (x->count == 0 && !x->stop) {
      if (x->dirty) {
        int64_t due = x->last_flush_ns + x->flush_interval_ns, now = wire_now_ns();
        if (now >= due) break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t left = due - now, ns = ts.tv_nsec + left % 1000000000LL;
        ts.tv_sec += left / 1000000000LL + ns / 1000000000LL;
        ts.tv_nsec = ns % 1000000000LL;
        pthread_cond_timedwait(&x->cv, &x->mu, &ts);
      } else {
        pthread_cond_wait(&x->cv, &x->mu);
      }
    }
    size_t n = x->count;
    for (size_t i = 0; i < n; i++) batch[i] = x->queue[(x->head + i) % FILE_EXPORTER_QUEUE_MAX];
    x->head = (x->head + n) % FILE_EXPORTER_QUEUE_MAX;
    x->count = 0;
    bool stop = x->stop;
    pthread_mutex_unlock(&x->mu);

    for (size_t i = 0; i < n; i++) {
      wire_err err;
      wire_err_clear(&err);
      uint64_t points = batch[i]->points;
      if (write_batch(x, batch[i], &err) < 0) {
        if (x->host && x->host->count)
          x->host->count(x->host, "otelcol_exporter_send_failed_metric_points", x->id, points);
        int64_t now = wire_now_ns();
        if (x->last_err_log_ns == 0 || now - x->last_err_log_ns >= LOG_INTERVAL_NS) {
          x->last_err_log_ns = now;
          flog(x, LOG_ERROR, "Exporting failed. Dropping data.", "error", err.msg);
        }
      } else if (x->host && x->host->count) {
        x->host->count(x->host, "otelcol_exporter_sent_metric_points", x->id, points);
      }
      metrics_unref(batch[i]);
    }
    if (x->enc.cap > (4u << 20)) { /* do not keep a huge buffer between batches */
      wire_buf_free(&x->enc);
      wire_buf_init(&x->enc, 0);
    }
    if (x->dirty && (stop || x->flush_interval_ns <= 0 || wire_now_ns() - x->last_flush_ns >= x->flush_interval_ns))
      flush_file(x);
    pthread_mutex_lock(&x->mu);
    if (x->stop && x->count == 0) break;
  }
  pthread_mutex_unlock(&x->mu);
  flush_file(x);
  return NULL;
}

/* ---- hooks -------------------------------------------------------------------------------------------- */

static void file_destroy(void *state);

static int file_create(const component_create_args *args, void **state, wire_err *err) {
  const file_exporter_config *c = args->config;
  if (!c || !c->path || !c->path[0]) return wire_err_set(err, WIRE_E_INVALID, "%s: path is required", args->id);
  file_exp *x = calloc(1, sizeof *x);
  if (!x) return wire_err_set(err, WIRE_E_NOMEM, "%s: out of memory", args->id);
  x->id = strdup(args->id ? args->id : "file");
  x->path = strdup(c->path);
  x->host = args->host;
  x->format = c->format;
  x->rotate = c->rotation != NULL;
  if (c->rotation) x->rotation = *c->rotation;
  if (x->rotate && x->rotation.max_megabytes <= 0) x->rotation.max_megabytes = 100;
  x->flush_interval_ns = c->flush_interval;
  x->append = c->append;
  wire_buf_init(&x->enc, 0);
  pthread_mutex_init(&x->mu, NULL);
  pthread_cond_init(&x->cv, NULL);
  if (!x->id || !x->path) {
    file_destroy(x);
    return wire_err_set(err, WIRE_E_NOMEM, "%s: out of memory", args->id);
  }
  *state = x;
  return 0;
}

static int file_start(void *state, wire_err *err) {
  file_exp *x = state;
  if (x->started) return 0;
  if (open_file(x, !x->append, err) < 0) return -1;
  x->last_flush_ns = wire_now_ns();
  int rc = pthread_create(&x->thread, NULL, writer_main, x);
  if (rc != 0) return wire_err_set(err, WIRE_E_NOMEM, "%s: cannot start the writer thread: %s", x->id, strerror(rc));
  x->started = true;
  return 0;
}

static int file_consume(void *state, component_metrics *m, wire_err *err) {
  file_exp *x = state;
  if (!x->started || x->shut_down) {
    metrics_unref(m);
    return wire_err_set(err, WIRE_E_CLOSED, "%s is not running", x->id);
  }
  if (!m->req && !metrics_has_raw(m)) {
    metrics_unref(m);
    return 0;
  }
  pthread_mutex_lock(&x->mu);
  if (x->count == FILE_EXPORTER_QUEUE_MAX) {
    pthread_mutex_unlock(&x->mu);
    if (x->host && x->host->count)
      x->host->count(x->host, "otelcol_exporter_enqueue_failed_metric_points", x->id, m->points);
    metrics_unref(m);
    return wire_err_set(err, WIRE_E_LIMIT, "%s: the writer is behind (%d batches queued)", x->id,
                        FILE_EXPORTER_QUEUE_MAX);
  }
  x->queue[(x->head + x->count) % FILE_EXPORTER_QUEUE_MAX] = m;
  x->count++;
  pthread_cond_signal(&x->cv);
  pthread_mutex_unlock(&x->mu);
  return 0;
}

static int file_shutdown(void *state, wire_err *err) {
  (void)err;
  file_exp *x = state;
  if (x->shut_down) return 0;
  x->shut_down = true;
  if (!x->started) return 0;
  pthread_mutex_lock(&x->mu);
  x->stop = true;
  pthread_cond_signal(&x->cv);
  pthread_mutex_unlock(&x->mu);
  pthread_join(x->thread, NULL); /* at most FILE_EXPORTER_QUEUE_MAX batches to write */
  x->started = false;
  if (x->f) {
    fclose(x->f);
    x->f = NULL;
  }
  return 0;
}

static void file_destroy(void *state) {
  file_exp *x = state;
  if (!x) return;
  file_shutdown(x, NULL);
  for (size_t i = 0; i < x->count; i++) metrics_unref(x->queue[(x->head + i) % FILE_EXPORTER_QUEUE_MAX]);
  if (x->f) fclose(x->f);
  wire_buf_free(&x->enc);
  pthread_mutex_destroy(&x->mu);
  pthread_cond_destroy(&x->cv);
  free(x->path);
  free(x->id);
  free(x);
}

const component_hooks file_exporter_hooks = {
    .create = file_create,
    .start = file_start,
    .consume_metrics = file_consume,
    .shutdown = file_shutdown,
    .destroy = file_destroy,
};
