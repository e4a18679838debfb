/* persistent_queue.c — one file per queued request in a file_storage directory (see persistent_queue.h).
 *
 * Why a file per record rather than an append-only log: requests complete out of order (several consumers,
 * retries), and a file per record makes "remove once sent" an unlink and recovery a directory listing, with no
 * compaction and no index to keep consistent. Requests reaching an exporter are batches (hundreds to thousands
 * of points), so the per-file cost is small next to sending them. */
#include "receiver/exporters/persistent_queue.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

struct persistent_queue {
  char *path;
  bool fsync;
  component_host *host;
  char *id;
  uint64_t next_id;
  pq_record *recovered;
  size_t nrecovered;
  size_t skipped;
};

static const uint8_t MAGIC[4] = {'O', 'T', 'Q', '1'};

static void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

static void pq_log(persistent_queue *pq, log_level level, const char *msg, const char *file, const char *why) {
  if (pq->host && pq->host->log)
    pq->host->log(pq->host, level, pq->id ? pq->id : "persistent_queue", msg, "file", file, "reason", why,
                  (char *)NULL);
}

static void record_path(const persistent_queue *pq, uint64_t id, const char *ext, char *out, size_t n) {
  snprintf(out, n, "%s/%016" PRIx64 ".%s", pq->path, id, ext);
}

static int write_all(int fd, const void *p, size_t n) {
  const uint8_t *b = p;
  while (n) {
    ssize_t w = write(fd, b, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    b += w;
    n -= (size_t)w;
  }
  return 0;
}

static int read_all(int fd, void *p, size_t n) {
  uint8_t *b = p;
  while (n) {
    ssize_t r = read(fd, b, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) return 1; /* short */
    b += r;
    n -= (size_t)r;
  }
  return 0;
}

static void fsync_dir(const char *path) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

static int cmp_record(const void *a, const void *b) {
  uint64_t x = ((const pq_record *)a)->id, y = ((const pq_record *)b)->id;
  return x < y ? -1 : x > y;
}

/* Checks a record file's header and length. Returns 0 and fills *rec, or -1 with a reason. */
static int check_file(const char *file, pq_record *rec, char *why, size_t why_len) {
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(why, why_len, "cannot open: %s", strerror(errno));
    return -1;
  }
  struct stat st;
  uint8_t h[PQ_HEADER_LEN];
  int rc = fstat(fd, &st) < 0 ? -1 : read_all(fd, h, sizeof h);
  close(fd);
  if (rc != 0) {
    snprintf(why, why_len, "truncated header (%lld bytes)", (long long)st.st_size);
    return -1;
  }
  if (memcmp(h, MAGIC, 4) != 0) {
    snprintf(why, why_len, "not a queue record (bad magic)");
    return -1;
  }
  uint32_t len = get32(h + 4);
  if (len > PQ_MAX_RECORD) {
    snprintf(why, why_len, "record length %u over the limit", len);
    return -1;
  }
  if ((uint64_t)st.st_size != (uint64_t)PQ_HEADER_LEN + len) {
    snprintf(why, why_len, "truncated: %lld of %llu bytes", (long long)st.st_size,
             (unsigned long long)PQ_HEADER_LEN + len);
    return -1;
  }
  rec->len = len;
  rec->points = get64(h + 16);
  return 0;
}

static void sanitize(const char *in, char *out, size_t n) {
  size_t o = 0;
  for (const char *p = in; *p && o + 1 < n; p++) {
    char c = *p;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              c == '_';
    out[o++] = ok ? c : '_';
  }
  out[o] = 0;
  if (!strcmp(out, ".") || !strcmp(out, "..") || o == 0) snprintf(out, n, "queue");
}

persistent_queue *pq_open(const char *dir, const char *name, bool do_fsync, component_host *host, const char *id,
                          wire_err *err) {
  char safe[200];
  sanitize(name ? name : "queue", safe, sizeof safe);
  struct stat st;
  if (!dir || !dir[0]) {
    wire_err_set(err, WIRE_E_IO, "persistent queue: no storage directory");
    return NULL;
  }
  if (stat(dir, &st) < 0) {
    wire_err_set(err, WIRE_E_IO, "persistent queue: storage directory %s: %s", dir, strerror(errno));
    return NULL;
  }
  if (!S_ISDIR(st.st_mode)) {
    wire_err_set(err, WIRE_E_IO, "persistent queue: storage directory %s is not a directory", dir);
    return NULL;
  }
  persistent_queue *pq = calloc(1, sizeof *pq);
  if (!pq) {
    wire_err_set(err, WIRE_E_NOMEM, "persistent queue: out of memory");
    return NULL;
  }
  pq->fsync = do_fsync;
  pq->host = host;
  pq->id = id ? strdup(id) : NULL;
  size_t plen = strlen(dir) + 1 + strlen(safe) + 1;
  pq->path = malloc(plen);
  if (!pq->path) {
    pq_close(pq);
    wire_err_set(err, WIRE_E_NOMEM, "persistent queue: out of memory");
    return NULL;
  }
  snprintf(pq->path, plen, "%s/%s", dir, safe);
  if (mkdir(pq->path, 0750) < 0 && errno != EEXIST) {
    wire_err_set(err, WIRE_E_IO, "persistent queue: cannot create %s: %s", pq->path, strerror(errno));
    pq_close(pq);
    return NULL;
  }
  DIR *d = opendir(pq->path);
  if (!d) {
    wire_err_set(err, WIRE_E_IO, "persistent queue: cannot list %s: %s", pq->path, strerror(errno));
    pq_close(pq);
    return NULL;
  }
  size_t cap = 0;
  struct dirent *de;
  char file[4096], why[128];
  while ((de = readdir(d)) != NULL) {
    const char *n = de->d_name;
    size_t nl = strlen(n);
    if (n[0] == '.') continue;
    bool is_tmp = nl == 20 && !strcmp(n + 16, ".tmp");
    bool is_rec = nl == 20 && !strcmp(n + 16, ".rec");
    if (!is_tmp && !is_rec) continue;
    char hex[17];
    memcpy(hex, n, 16);
    hex[16] = 0;
    char *end;
    uint64_t rid = strtoull(hex, &end, 16);
    if (*end) continue;
    snprintf(file, sizeof file, "%s/%s", pq->path, n);
    if (rid >= pq->next_id) pq->next_id = rid + 1;
    if (is_tmp) {
      pq_log(pq, LOG_WARN, "persistent queue: removing a record left half-written by the previous run", file,
             "unfinished write");
      unlink(file);
      pq->skipped++;
      continue;
    }
    pq_record rec = {.id = rid};
    if (check_file(file, &rec, why, sizeof why) < 0) {
      pq_log(pq, LOG_WARN, "persistent queue: skipping a corrupt record", file, why);
      unlink(file);
      pq->skipped++;
      continue;
    }
    if (pq->nrecovered == cap) {
      size_t ncap = cap ? cap * 2 : 64;
      pq_record *nr = realloc(pq->recovered, ncap * sizeof *nr);
      if (!nr) {
        closedir(d);
        pq_close(pq);
        wire_err_set(err, WIRE_E_NOMEM, "persistent queue: out of memory");
        return NULL;
      }
      pq->recovered = nr;
      cap = ncap;
    }
    pq->recovered[pq->nrecovered++] = rec;
  }
  closedir(d);
  if (pq->nrecovered) qsort(pq->recovered, pq->nrecovered, sizeof *pq->recovered, cmp_record);
  if (pq->next_id == 0) pq->next_id = 1;
  return pq;
}

void pq_close(persistent_queue *pq) {
  if (!pq) return;
  free(pq->recovered);
  free(pq->path);
  free(pq->id);
  free(pq);
}

const char *pq_path(const persistent_queue *pq) { return pq->path; }

const pq_record *pq_recovered(const persistent_queue *pq, size_t *n) {
  *n = pq->nrecovered;
  return pq->recovered;
}

size_t pq_skipped(const persistent_queue *pq) { return pq->skipped; }

/* Writes all of iov[0..n) (retrying short writes; the array is not changed). */
static int writev_all(int fd, const struct iovec *iov, size_t n) {
  size_t i = 0, done = 0; /* iov[i] is written up to `done` bytes */
  while (i < n) {
    struct iovec v[64];
    size_t k = 0;
    for (size_t j = i; j < n && k < 64; j++, k++) {
      v[k] = iov[j];
      if (j == i) {
        v[k].iov_base = (uint8_t *)v[k].iov_base + done;
        v[k].iov_len -= done;
      }
    }
    ssize_t w = writev(fd, v, (int)k);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    size_t left = (size_t)w;
    while (i < n && left >= iov[i].iov_len - done) {
      left -= iov[i].iov_len - done;
      done = 0;
      i++;
    }
    done += left;
  }
  return 0;
}

int pq_appendv(persistent_queue *pq, const struct iovec *parts, size_t n, uint64_t points, uint64_t *id,
               wire_err *err) {
  size_t len = 0;
  uLong crc = crc32(0L, Z_NULL, 0);
  for (size_t i = 0; i < n; i++) {
    if (parts[i].iov_len > PQ_MAX_RECORD || len > PQ_MAX_RECORD - parts[i].iov_len) {
      len = (size_t)PQ_MAX_RECORD + 1;
      break;
    }
    len += parts[i].iov_len;
  }
  if (len > PQ_MAX_RECORD)
    return wire_err_set(err, WIRE_E_LIMIT, "persistent queue: a record of %zu or more bytes is over the %u-byte limit",
                        len, PQ_MAX_RECORD);
  for (size_t i = 0; i < n; i++) crc = crc32(crc, parts[i].iov_base, (uInt)parts[i].iov_len);
  uint64_t rid = pq->next_id++;
  char tmp[4096], final[4096];
  record_path(pq, rid, "tmp", tmp, sizeof tmp);
  record_path(pq, rid, "rec", final, sizeof final);
  uint8_t h[PQ_HEADER_LEN];
  memcpy(h, MAGIC, 4);
  put32(h + 4, (uint32_t)len);
  put32(h + 8, (uint32_t)crc);
  put32(h + 12, 0);
  put64(h + 16, points);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return wire_err_set(err, WIRE_E_IO, "persistent queue: cannot create %s: %s", tmp, strerror(errno));
  if (write_all(fd, h, sizeof h) < 0 || writev_all(fd, parts, n) < 0 || (pq->fsync && fsync(fd) < 0)) {
    int e = errno;
    close(fd);
    unlink(tmp);
    return wire_err_set(err, WIRE_E_IO, "persistent queue: cannot write %s: %s", tmp, strerror(e));
  }
  if (close(fd) < 0 || rename(tmp, final) < 0) {
    int e = errno;
    unlink(tmp);
    return wire_err_set(err, WIRE_E_IO, "persistent queue: cannot store %s: %s", final, strerror(e));
  }
  if (pq->fsync) fsync_dir(pq->path);
  *id = rid;
  return 0;
}

int pq_append(persistent_queue *pq, const void *data, size_t len, uint64_t points, uint64_t *id, wire_err *err) {
  if (len > PQ_MAX_RECORD)
    return wire_err_set(err, WIRE_E_LIMIT, "persistent queue: a record of %zu bytes is over the %u-byte limit", len,
                        PQ_MAX_RECORD);
  struct iovec one = {.iov_base = (void *)data, .iov_len = len};
  return pq_appendv(pq, &one, len ? 1 : 0, points, id, err);
}

int pq_read(persistent_queue *pq, uint64_t id, wire_buf *out, uint64_t *points, wire_err *err) {
  char file[4096];
  record_path(pq, id, "rec", file, sizeof file);
  wire_buf_reset(out);
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return wire_err_set(err, WIRE_E_IO, "persistent queue: cannot open %s: %s", file, strerror(errno));
  uint8_t h[PQ_HEADER_LEN];
  int rc = read_all(fd, h, sizeof h);
  if (rc != 0) {
    close(fd);
    return wire_err_set(err, rc < 0 ? WIRE_E_IO : WIRE_E_INVALID, "persistent queue: %s: truncated header", file);
  }
  uint32_t len = get32(h + 4);
  if (memcmp(h, MAGIC, 4) != 0 || len > PQ_MAX_RECORD) {
    close(fd);
    return wire_err_set(err, WIRE_E_INVALID, "persistent queue: %s: not a queue record", file);
  }
  if (wire_buf_reserve(out, len ? len : 1, err) < 0) {
    close(fd);
    return -1;
  }
  rc = read_all(fd, out->data, len);
  uint8_t extra;
  bool trailing = rc == 0 && read(fd, &extra, 1) > 0;
  close(fd);
  if (rc < 0) return wire_err_set(err, WIRE_E_IO, "persistent queue: cannot read %s: %s", file, strerror(errno));
  if (rc > 0 || trailing)
    return wire_err_set(err, WIRE_E_INVALID, "persistent queue: %s: length does not match its header", file);
  if ((uint32_t)crc32(0L, out->data, (uInt)len) != get32(h + 8))
    return wire_err_set(err, WIRE_E_INVALID, "persistent queue: %s: checksum mismatch", file);
  out->len = len;
  if (points) *points = get64(h + 16);
  return 0;
}

void pq_remove(persistent_queue *pq, uint64_t id) {
  char file[4096];
  record_path(pq, id, "rec", file, sizeof file);
  unlink(file);
}
