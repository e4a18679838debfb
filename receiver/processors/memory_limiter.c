/* memory_limiter.c — the memory_limiter processor (see memory_limiter.h). */
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
  uv_timer_t timer;
  bool timer_init;
} memory_limiter;

static size_t (*rss_reader)(void);

void memory_limiter_set_rss_reader(size_t (*read_rss)(void)) { rss_reader = read_rss; }

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

static void check(memory_limiter *m) {
  size_t rss = read_rss();
  size_t held = pipeline_bytes_in_use();
  /* Hand freed heap back before judging, already from 3/4 of the soft limit: glibc keeps freed memory in its
   * per-thread arenas, and an RSS left just under the limit after a burst would refuse light load for seconds
   * after the queue drained (measured in bench/bench_receiver.sh's recovery scenario). */
  if (rss > m->soft / 4 * 3 && !rss_reader) {
    malloc_trim(0);
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
