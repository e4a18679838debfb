/* test_exporter_file.c — the `file` exporter: JSON lines that decode back (wire/otlp_json.h) to what was sent,
 * length-prefixed protobuf with format: proto, rotation by size keeping max_backups, append vs truncate. */
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include "exporter_testhost.h"
#include "receiver/config/components/file_exporter.h"
#include "receiver/exporters/file.h"
#include "sample_otlp.h"
#include "testlib.h"
#include "wire/otlp_json.h"

typedef struct fexp {
  void *state;
} fexp;

static fexp start(const file_exporter_config *c) {
  fexp f = {0};
  component_create_args a = {.id = "file", .kind = COMPONENT_EXPORTER, .config = c, .host = &th_host.host};
  wire_err err;
  wire_err_clear(&err);
  CHECK_MSG(file_exporter_hooks.create(&a, &f.state, &err) == 0, "create: %s", err.msg);
  if (f.state) CHECK_MSG(file_exporter_hooks.start(f.state, &err) == 0, "start: %s", err.msg);
  return f;
}

static void stop(fexp *f) {
  wire_err err;
  CHECK_EQ(file_exporter_hooks.shutdown(f->state, &err), 0);
  file_exporter_hooks.destroy(f->state);
  f->state = NULL;
}

/* Consumes `req`, retrying (bounded) while the writer's queue is full. */
static void send_batch(fexp *f, const otlp_request *req) {
  wire_buf b;
  wire_buf_init(&b, 0);
  wire_err err;
  CHECK_EQ(wire_otlp_encode_request(req, &b, &err), 0);
  for (int i = 0; i < 10000; i++) {
    component_metrics *m = metrics_decode(b.data, b.len, 0, 0, &err);
    if (file_exporter_hooks.consume_metrics(f->state, m, &err) == 0) break;
    CHECK_EQ(err.code, WIRE_E_LIMIT);
    usleep(1000);
  }
  wire_buf_free(&b);
}

/* Decodes every JSON line of `path`; returns the number of lines (and adds their points to *points). */
static int check_json_lines(const char *path, size_t *points) {
  size_t len;
  char *text = test_read_file(path, &len);
  CHECK_MSG(text != NULL, "cannot read %s", path);
  if (!text) return 0;
  int lines = 0;
  for (char *p = text; *p;) {
    char *nl = strchr(p, '\n');
    CHECK_MSG(nl != NULL, "%s: last line without a newline", path);
    if (!nl) break;
    wire_err err;
    otlp_request *r = wire_otlp_json_decode_request((const uint8_t *)p, (size_t)(nl - p), 0, 0, NULL, &err);
    CHECK_MSG(r != NULL, "%s line %d: %s", path, lines + 1, err.msg);
    if (r) {
      *points += wire_otlp_count_points(r);
      wire_otlp_request_free(r, NULL);
    }
    lines++;
    p = nl + 1;
  }
  free(text);
  return lines;
}

static void test_json_lines_round_trip(void) {
  th_reset();
  char path[1024];
  snprintf(path, sizeof path, "%s/file_json.jsonl", test_tmpdir());
  unlink(path);
  file_exporter_config c = {.path = path, .format = FILE_FORMAT_JSON, .flush_interval = 1000000000LL};
  fexp f = start(&c);
  otlp_request *req = sample_otlp_full();
  for (int i = 0; i < 5; i++) send_batch(&f, req);
  stop(&f);
  size_t points = 0;
  CHECK_EQ(check_json_lines(path, &points), 5);
  CHECK_EQ(points, 5 * SAMPLE_FULL_POINTS);
  CHECK_EQ(th_counter("otelcol_exporter_sent_metric_points"), 5 * SAMPLE_FULL_POINTS);
  CHECK_EQ(pipeline_batches_live(), 0);
  /* the first line is the sample, field by field */
  size_t len;
  char *text = test_read_file(path, &len);
  wire_err err;
  otlp_request *back = text ? wire_otlp_json_decode_request((uint8_t *)text, strcspn(text, "\n"), 0, 0, NULL, &err)
                            : NULL;
  CHECK(back != NULL);
  if (back) {
    wire_buf a, b;
    wire_buf_init(&a, 0);
    wire_buf_init(&b, 0);
    CHECK_EQ(wire_otlp_encode_request(req, &a, &err), 0);
    CHECK_EQ(wire_otlp_encode_request(back, &b, &err), 0);
    CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    wire_buf_free(&a);
    wire_buf_free(&b);
    wire_otlp_request_free(back, NULL);
  }
  free(text);

  /* append: false truncates at start, append: true keeps */
  f = start(&c);
  send_batch(&f, req);
  stop(&f);
  points = 0;
  CHECK_EQ(check_json_lines(path, &points), 1);
  c.append = true;
  f = start(&c);
  send_batch(&f, req);
  stop(&f);
  points = 0;
  CHECK_EQ(check_json_lines(path, &points), 2);
  sample_otlp_free(req);
}

static void test_proto_length_prefixed(void) {
  th_reset();
  char path[1024];
  snprintf(path, sizeof path, "%s/file_proto.bin", test_tmpdir());
  unlink(path);
  file_exporter_config c = {.path = path, .format = FILE_FORMAT_PROTO, .flush_interval = 0};
  fexp f = start(&c);
  otlp_request *req = sample_otlp_full();
  for (int i = 0; i < 3; i++) send_batch(&f, req);
  stop(&f);
  size_t len;
  uint8_t *data = (uint8_t *)test_read_file(path, &len);
  CHECK(data != NULL);
  int n = 0;
  for (size_t off = 0; data && off + 4 <= len; n++) {
    uint32_t l = (uint32_t)data[off] << 24 | (uint32_t)data[off + 1] << 16 | (uint32_t)data[off + 2] << 8 | data[off + 3];
    off += 4;
    CHECK(off + l <= len);
    if (off + l > len) break;
    wire_err err;
    otlp_request *r = wire_otlp_decode_request(data + off, l, 0, NULL, &err);
    CHECK_MSG(r != NULL, "record %d: %s", n, err.msg);
    if (r) {
      CHECK_EQ(wire_otlp_count_points(r), SAMPLE_FULL_POINTS);
      wire_otlp_request_free(r, NULL);
    }
    off += l;
  }
  CHECK_EQ(n, 3);
  free(data);
  sample_otlp_free(req);
}

static int count_backups(const char *dir, const char *prefix) {
  DIR *d = opendir(dir);
  int n = 0;
  struct dirent *de;
  while (d && (de = readdir(d)) != NULL)
    if (!strncmp(de->d_name, prefix, strlen(prefix))) n++;
  if (d) closedir(d);
  return n;
}

static void test_rotation(void) {
  th_reset();
  char dir[1024], path[1100];
  snprintf(dir, sizeof dir, "%s/file_rotation", test_tmpdir());
  test_sh("rm -rf '%s' && mkdir -p '%s'", dir, dir);
  snprintf(path, sizeof path, "%s/metrics.json", dir);
  file_rotation_config rot = {.max_megabytes = 1, .max_backups = 2};
  file_exporter_config c = {.path = path, .format = FILE_FORMAT_JSON, .rotation = &rot, .flush_interval = 0};
  fexp f = start(&c);
  otlp_request *req = sample_otlp_parametric(100, 10, 3); /* a few hundred KiB of JSON */
  for (int i = 0; i < 30; i++) send_batch(&f, req);
  stop(&f);
  int backups = count_backups(dir, "metrics-");
  CHECK_EQ(backups, 2); /* more were made, only max_backups are kept */
  CHECK_EQ(test_sh("test $(stat -c %%s '%s') -le 1048576", path), 0);
  /* every file, current and rotated, is whole JSON lines */
  DIR *d = opendir(dir);
  struct dirent *de;
  size_t points = 0;
  int lines = 0;
  while (d && (de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.') continue;
    char full[2048];
    snprintf(full, sizeof full, "%s/%s", dir, de->d_name);
    CHECK_MSG(strstr(de->d_name, ".json") != NULL, "unexpected file %s", de->d_name);
    lines += check_json_lines(full, &points);
  }
  if (d) closedir(d);
  CHECK(lines > 0 && lines < 30);
  CHECK_EQ(points, (size_t)lines * 1000);
  sample_otlp_free(req);
}

static void test_bad_path(void) {
  th_reset();
  file_exporter_config c = {.path = "/nonexistent-dir/otelc/out.json"};
  component_create_args a = {.id = "file/bad", .kind = COMPONENT_EXPORTER, .config = &c, .host = &th_host.host};
  void *state = NULL;
  wire_err err;
  CHECK_EQ(file_exporter_hooks.create(&a, &state, &err), 0);
  CHECK_EQ(file_exporter_hooks.start(state, &err), -1);
  CHECK_CONTAINS(err.msg, "/nonexistent-dir/otelc/out.json");
  file_exporter_hooks.destroy(state);
}

int main(void) {
  th_host.quiet = getenv("VERBOSE") == NULL;
  RUN(test_json_lines_round_trip);
  RUN(test_proto_length_prefixed);
  RUN(test_rotation);
  RUN(test_bad_path);
  return test_finish();
}
