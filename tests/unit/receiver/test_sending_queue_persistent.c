/* test_sending_queue_persistent.c — the on-disk record store behind persistent sending queues
 * (receiver/exporters/persistent_queue.h): records survive a close/reopen in order, a truncated or foreign file
 * and a half-written .tmp are skipped with a log line, a flipped byte is caught by the checksum on read. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exporter_testhost.h"
#include "receiver/exporters/persistent_queue.h"
#include "testlib.h"

static const char *fresh_dir(const char *name) {
  static char dir[1024];
  snprintf(dir, sizeof dir, "%s/%s", test_tmpdir(), name);
  test_sh("rm -rf '%s' && mkdir -p '%s'", dir, dir);
  return dir;
}

static void test_records_survive_reopen(void) {
  component_host *h = th_reset();
  const char *dir = fresh_dir("pq_reopen");
  wire_err err;
  persistent_queue *pq = pq_open(dir, "otlp/backend", false, h, "otlp/backend", &err);
  CHECK(pq != NULL);
  CHECK_CONTAINS(pq_path(pq), "otlp_backend");
  uint64_t ids[5];
  char payload[64];
  for (int i = 0; i < 5; i++) {
    int n = snprintf(payload, sizeof payload, "record-%d", i);
    CHECK_EQ(pq_append(pq, payload, (size_t)n, (uint64_t)(10 + i), &ids[i], &err), 0);
    if (i) CHECK(ids[i] > ids[i - 1]);
  }
  pq_remove(pq, ids[1]); /* sent */
  pq_close(pq);

  pq = pq_open(dir, "otlp/backend", true, h, "otlp/backend", &err);
  CHECK(pq != NULL);
  size_t n;
  const pq_record *r = pq_recovered(pq, &n);
  CHECK_EQ(n, 4);
  CHECK_EQ(pq_skipped(pq), 0);
  const int expect[] = {0, 2, 3, 4};
  wire_buf b;
  wire_buf_init(&b, 0);
  for (size_t i = 0; i < n && i < 4; i++) {
    CHECK_EQ_U64(r[i].id, ids[expect[i]]);
    CHECK_EQ_U64(r[i].points, 10 + expect[i]);
    uint64_t pts = 0;
    CHECK_EQ(pq_read(pq, r[i].id, &b, &pts, &err), 0);
    snprintf(payload, sizeof payload, "record-%d", expect[i]);
    CHECK_EQ(b.len, strlen(payload));
    CHECK(b.len == strlen(payload) && memcmp(b.data, payload, b.len) == 0);
    CHECK_EQ_U64(pts, 10 + expect[i]);
  }
  /* new ids continue after the recovered ones */
  uint64_t id;
  CHECK_EQ(pq_append(pq, "x", 1, 1, &id, &err), 0);
  CHECK(id > ids[4]);
  wire_buf_free(&b);
  pq_close(pq);
}

static void test_corrupt_files_skipped(void) {
  component_host *h = th_reset();
  const char *dir = fresh_dir("pq_corrupt");
  wire_err err;
  persistent_queue *pq = pq_open(dir, "q", false, h, "otlp/x", &err);
  uint64_t a, b, c;
  char big[1000];
  memset(big, 'z', sizeof big);
  CHECK_EQ(pq_append(pq, big, sizeof big, 3, &a, &err), 0);
  CHECK_EQ(pq_append(pq, big, sizeof big, 4, &b, &err), 0);
  CHECK_EQ(pq_append(pq, big, sizeof big, 5, &c, &err), 0);
  char path[2048];
  /* the tail record cut short (a crash mid-write without rename protection) */
  snprintf(path, sizeof path, "%s/%016llx.rec", pq_path(pq), (unsigned long long)c);
  CHECK_EQ(truncate(path, 500), 0);
  /* a file that is not a record */
  snprintf(path, sizeof path, "%s/%016llx.rec", pq_path(pq), (unsigned long long)(c + 1));
  CHECK_EQ(test_sh("printf 'garbage-garbage-garbage-garbage' > '%s'", path), 0);
  /* a half-written temporary */
  snprintf(path, sizeof path, "%s/%016llx.tmp", pq_path(pq), (unsigned long long)(c + 2));
  CHECK_EQ(test_sh("printf 'OTQ1' > '%s'", path), 0);
  /* a flipped payload byte in the middle record: found by the checksum on read */
  snprintf(path, sizeof path, "%s/%016llx.rec", pq_path(pq), (unsigned long long)b);
  int fd = open(path, O_WRONLY);
  CHECK(fd >= 0);
  CHECK_EQ(pwrite(fd, "Q", 1, PQ_HEADER_LEN + 10), 1);
  close(fd);
  pq_close(pq);

  pq = pq_open(dir, "q", false, h, "otlp/x", &err);
  CHECK(pq != NULL);
  size_t n;
  const pq_record *r = pq_recovered(pq, &n);
  CHECK_EQ(n, 2);
  CHECK_EQ(pq_skipped(pq), 3);
  CHECK(th_log_has("skipping a corrupt record"));
  CHECK(th_log_has("truncated: 500 of 1024 bytes"));
  CHECK(th_log_has("half-written"));
  wire_buf buf;
  wire_buf_init(&buf, 0);
  CHECK_EQ(pq_read(pq, r[0].id, &buf, NULL, &err), 0);
  CHECK_EQ(buf.len, sizeof big);
  CHECK_EQ(pq_read(pq, r[1].id, &buf, NULL, &err), -1);
  CHECK_EQ(err.code, WIRE_E_INVALID);
  CHECK_CONTAINS(err.msg, "checksum");
  wire_buf_free(&buf);
  pq_close(pq);

  /* the skipped files are gone: a third open finds the same two records and nothing to skip */
  pq = pq_open(dir, "q", false, h, "otlp/x", &err);
  pq_recovered(pq, &n);
  CHECK_EQ(n, 2);
  CHECK_EQ(pq_skipped(pq), 0);
  pq_close(pq);
}

static void test_open_errors(void) {
  wire_err err;
  CHECK(pq_open("/nonexistent/otelc-test-dir", "q", false, NULL, NULL, &err) == NULL);
  CHECK_EQ(err.code, WIRE_E_IO);
  CHECK_CONTAINS(err.msg, "/nonexistent/otelc-test-dir");
  /* names are sanitised: no escaping the directory */
  const char *dir = fresh_dir("pq_names");
  persistent_queue *pq = pq_open(dir, "../..", false, NULL, NULL, &err);
  CHECK(pq != NULL);
  if (pq) {
    CHECK(strstr(pq_path(pq), "/../") == NULL);
    pq_close(pq);
  }
}

int main(void) {
  th_host.quiet = getenv("VERBOSE") == NULL;
  RUN(test_records_survive_reopen);
  RUN(test_corrupt_files_skipped);
  RUN(test_open_errors);
  return test_finish();
}
