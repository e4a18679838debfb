/* memory_limiter.c — the memory_limiter processor (see memory_limiter.h).
 *
 * Handing freed heap back (malloc_trim): glibc keeps freed memory in its arenas, so after a burst RSS stays high
 * although the pipelines hold little, and an RSS-based limiter would go on refusing light load for seconds after
 * the queues drained. So a check trims when RSS says "above the soft limit" (at most every TRIM_OVER_MS: a trim
 * walks every arena and costs page faults afterwards, so not at every 100 ms check during a sustained overload),
 * once when usage falls back under the soft limit after being above it (the next burst gets the headroom), and,
 * while RSS is past half the soft limit, when malloc keeps more than an eighth of the soft limit free (mallinfo2,
 * at most every TRIM_OVER_MS) or the pipelines released that much of what they held (at most every TRIM_IDLE_MS).
 * Limiting malloc's arenas (main.c: M_ARENA_MAX) keeps the freed memory in fewer places. */
#include "receiver/processors/memory_limiter.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "receiver/config/components/memory_limiter.h"

typedef struct memory_limiter {
  component_host *host;
  const memory_limiter_config *cfg;
  char *id;
  component_consumer next;
  size_t hard, soft;      /* bytes */
  size_t base;            /* RSS not held by the pipelines, at the last check */
  bool refusing;          /* state last logged */
  uint64_t trim_ms;       /* loop time of the last trim */
  bool trimmed;           /* trim_ms is valid */
  size_t held_peak;       /* most the pipelines held at a check since the last trim */
  uv_timer_t timer;
  bool timer_init;
} memory_limiter;

#define TRIM_OVER_MS 250  /* above the soft limit: trim at most this often */
#define TRIM_IDLE_MS 1000 /* below it, after the pipelines released memory: at most this often */

static size_t (*rss_reader)(void);
static void (*trimmer)(void);

void memory_limiter_set_rss_reader(size_t (*read_rss)(void)) { rss_reader = read_rss; }
void memory_limiter_set_trimmer(void (*trim)(void)) { trimmer = trim; }

static size_t statm_rss(void) {
  FILE *f = fopen("/proc/self/statm", "re");
  if (!f) return 0;
  unsigned long long size = 0, resident = 0;
  int n = fscanf(f, "%llu %llu", &size, &resident);
  fclose(f);
  return n == 2 ? (size_t)(resident * (unsigned long long)sysconf(_SC_PAGESIZE)) : 0;
}

static size_t read_rss(void) { return rss_reader ? rss_reader() : statm_rss(); }

/* A number from a one-line file ("max" or unreadable: 0). */
static unsigned long long read_limit_file(const char *path) {
  FILE *f = fopen(path, "re");
  if (!f) return 0;
  char buf[64] = {0};
  unsigned long long v = 0;
  if (fgets(buf, sizeof buf, f) && strncmp(buf, "max", 3) != 0) v = strtoull(buf, NULL, 10);
  fclose(f);
  return v;
}

static unsigned long long mem_total(void) {
  FILE *f = fopen("/proc/meminfo", "re");
  if (!f) return 0;
  char line[256];
  unsigned long long kb = 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "MemTotal: %llu kB", &kb) == 1) break;
  fclose(f);
  return kb * 1024;
}

size_t memory_limiter_total_memory(void) {
  unsigned long long total = mem_total();
  unsigned long long cg = 0;
  /* cgroup v2: our own cgroup's memory.max, then the namespace root's. */
  FILE *f = fopen("/proc/self/cgroup", "re");
  if (f) {
    char line[1024];
    while (fgets(line, sizeof line, f)) {
      if (strncmp(line, "0::", 3) != 0) continue;
      line[strcspn(line, "\n")] = '\0';
      char path[1200];
      snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.max", line + 3);
      cg = read_limit_file(path);
      break;
    }
    fclose(f);
  }
  if (!cg) cg = read_limit_file("/sys/fs/cgroup/memory.max");
  if (!cg) cg = read_limit_file("/sys/fs/cgroup/memory/memory.limit_in_bytes"); /* v1 */
  if (cg && (total == 0 || cg < total)) total = cg;
  return (size_t)total;
}

static void log_state(memory_limiter *m, bool refusing, size_t usage) {
  if (refusing == m->refusing) return;
  m->refusing = refusing;
  char u[32], s[32];
  snprintf(u, sizeof u, "%zu", usage >> 20);
  snprintf(s, sizeof s, "%zu", m->soft >> 20);
  if (refusing)
    m->host->log(m->host, LOG_WARN, m->id, "Memory usage is above soft limit. Refusing data.", "cur_mem_mib", u,
                 "soft_limit_mib", s, NULL);
  else
    m->host->log(m->host, LOG_INFO, m->id, "Memory usage back within limits. Resuming normal operation.",
                 "cur_mem_mib", u, "soft_limit_mib", s, NULL);
}

static void trim(memory_limiter *m, uint64_t now) {
  if (trimmer) trimmer();
  else malloc_trim(0);
  m->trim_ms = now;
  m->trimmed = true;
  m->held_peak = 0;
}

/* Free memory malloc keeps in its arenas (0 with a simulated RSS: tests). */
static size_t malloc_free_bytes(void) {
  if (rss_reader) return 0;
  struct mallinfo2 mi = mallinfo2();
  return mi.fordblks;
}

/* Whether to hand freed heap back now (see the top of the file). */
static bool should_trim(const memory_limiter *m, uint64_t now, size_t rss, size_t held) {
  uint64_t since = m->trimmed ? now - m->trim_ms : UINT64_MAX;
  if (rss > m->soft) return since >= TRIM_OVER_MS;
  if (m->refusing) return true; /* back under the soft limit after being above: once, the state flips below */
  if (rss <= m->soft / 2) return false;
  if (since >= TRIM_OVER_MS && malloc_free_bytes() > m->soft / 8) return true;
  return m->held_peak > held + m->soft / 8 && since >= TRIM_IDLE_MS;
}

static void check(memory_limiter *m) {
  uint64_t now = uv_now(m->host->loop);
  size_t rss = read_rss();
  size_t held = pipeline_bytes_in_use();
  if (held > m->held_peak) m->held_peak = held;
  if (should_trim(m, now, rss, held)) {
    trim(m, now);
    rss = read_rss();
    held = pipeline_bytes_in_use();
  }
  m->base = rss > held ? rss - held : 0;
  size_t usage = m->base + held;
  if (usage > m->hard && !m->refusing) {
    char u[32], h[32];
    snprintf(u, sizeof u, "%zu", usage >> 20);
    snprintf(h, sizeof h, "%zu", m->hard >> 20);
    m->host->log(m->host, LOG_WARN, m->id, "Memory usage is above hard limit.", "cur_mem_mib", u, "hard_limit_mib",
                 h, NULL);
  }
  log_state(m, usage > m->soft, usage);
}

static void timer_cb(uv_timer_t *t) { check(t->data); }

static int consume(void *state, component_metrics *b, wire_err *err) {
  memory_limiter *m = state;
  size_t usage = m->base + pipeline_bytes_in_use();
  if (usage > m->soft) {
    log_state(m, true, usage);
    metrics_unref(b);
    return wire_err_set(err, WIRE_E_LIMIT, "data refused due to high memory usage");
  }
  return m->next.consume_metrics(m->next.ctx, b, err);
}

static int create(const component_create_args *args, void **state, wire_err *err) {
  const memory_limiter_config *cfg = args->config;
  size_t hard = 0, spike = 0;
  if (cfg->limit > 0) {
    hard = (size_t)cfg->limit;
    spike = cfg->spike_limit > 0 ? (size_t)cfg->spike_limit : hard / 5;
  } else if (cfg->limit_percentage > 0) {
    size_t total = memory_limiter_total_memory();
    if (!total) return wire_err_set(err, WIRE_E_UNSUPPORTED, "cannot determine the total memory for limit_percentage");
    hard = total / 100 * (size_t)cfg->limit_percentage;
    spike = total / 100 * (size_t)cfg->spike_limit_percentage;
  }
  if (hard == 0) return wire_err_set(err, WIRE_E_INVALID, "needs limit_mib or limit_percentage");
  if (spike >= hard) return wire_err_set(err, WIRE_E_INVALID, "the spike limit must be below the limit");
  memory_limiter *m = calloc(1, sizeof *m);
  if (!m || !(m->id = strdup(args->id))) {
    free(m);
    return wire_err_set(err, WIRE_E_NOMEM, "out of memory");
  }
  m->host = args->host;
  m->cfg = cfg;
  m->next = args->next;
  m->hard = hard;
  m->soft = hard - spike;
  *state = m;
  return 0;
}

static int start(void *state, wire_err *err) {
  memory_limiter *m = state;
  if (uv_timer_init(m->host->loop, &m->timer) < 0) return wire_err_set(err, WIRE_E_NOMEM, "no timer");
  m->timer.data = m;
  m->timer_init = true;
  uint64_t ms = (uint64_t)((m->cfg->check_interval + 999999) / 1000000);
  if (ms == 0) ms = 1;
  uv_timer_start(&m->timer, timer_cb, ms, ms);
  char h[32], s[32], ci[32];
  snprintf(h, sizeof h, "%zu", m->hard >> 20);
  snprintf(s, sizeof s, "%zu", m->soft >> 20);
  snprintf(ci, sizeof ci, "%llums", (unsigned long long)ms);
  m->host->log(m->host, LOG_INFO, m->id, "Memory limiter configured", "limit_mib", h, "soft_limit_mib", s,
               "check_interval", ci, NULL);
  check(m);
  return 0;
}

static void timer_closed(uv_handle_t *h) {
  memory_limiter *m = h->data;
  m->host->release(m->host);
}

static int shutdown_(void *state, wire_err *err) {
  (void)err;
  memory_limiter *m = state;
  if (m->timer_init) {
    uv_timer_stop(&m->timer);
    m->host->hold(m->host);
    uv_close((uv_handle_t *)&m->timer, timer_closed);
    m->timer_init = false;
  }
  return 0;
}

static void destroy(void *state) {
  memory_limiter *m = state;
  if (!m) return;
  free(m->id);
  free(m);
}

const component_hooks memory_limiter_processor_hooks = {
    .create = create,
    .start = start,
    .consume_metrics = consume,
    .shutdown = shutdown_,
    .destroy = destroy,
};
