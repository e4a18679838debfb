/* test_runtime_signals.c — the otelc-receiver binary as a process ($OTELC_BUILD_DIR/receiver/otelc-receiver):
 * data held by the batch processor survives a SIGHUP reload (the old pipelines flush into their exporter before
 * the new ones start), a bad configuration on SIGHUP is reported and the running one keeps serving, a good one
 * that cannot start (a port taken) brings the previous one back, and SIGTERM
 * drains everything and exits 0. Ports are chosen by the kernel (port 0) and read back from the log. The sink
 * is the file exporter (append mode), read back as OTLP/JSON lines. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "receiver/component.h"
#include "sample_otlp.h"
#include "testlib.h"
#include "wire/clock.h"
#include "wire/http_client.h"
#include "wire/otlp_json.h"

static char config_path[600], out_path[600], log_path[600];

/* health_port != 0 adds a health_check extension on that port. */
static void write_config(const char *http_extra, bool broken, unsigned health_port) {
  char tmp[700];
  snprintf(tmp, sizeof tmp, "%s.tmp", config_path);
  FILE *f = fopen(tmp, "w");
  fprintf(f,
          "receivers:\n"
          "  otlp:\n"
          "    protocols:\n"
          "      http: {endpoint: 127.0.0.1:0%s}\n"
          "processors:\n"
          "  batch: {timeout: 1h, send_batch_size: 1000000}\n"
          "exporters:\n"
          "  file: {path: %s, append: true}\n"
          "service:\n"
          "  telemetry:\n"
          "    metrics: {address: 127.0.0.1:0}\n"
          "  pipelines:\n"
          "    metrics: {receivers: [otlp], processors: [batch], exporters: [file]}\n",
          http_extra, out_path);
  if (health_port)
    fprintf(f, "  extensions: [health_check]\nextensions:\n  health_check: {endpoint: 127.0.0.1:%u}\n", health_port);
  if (broken) fprintf(f, "    metrics/extra: {receivers: [otlp], exporters: [no_such_exporter]}\n");
  fclose(f);
  rename(tmp, config_path);
}

/* Waits until the log has `needle` after byte `from`; returns the offset just after it, or -1. */
static long wait_log(const char *needle, long from, int timeout_ms) {
  int64_t deadline = wire_now_ns() + (int64_t)timeout_ms * 1000000;
  do {
    size_t len;
    char *text = test_read_file(log_path, &len);
    if (text && (size_t)from <= len) {
      char *p = strstr(text + from, needle);
      if (p) {
        long off = (long)(p - text) + (long)strlen(needle);
        free(text);
        return off;
      }
    }
    free(text);
    usleep(10000);
  } while (wire_now_ns() < deadline);
  return -1;
}

/* The port in the first "Starting HTTP server ... port=N" line after `from`. */
static unsigned http_port_after(long from) {
  long at = wait_log("Starting HTTP server", from, 10000);
  if (at < 0) return 0;
  size_t len;
  char *text = test_read_file(log_path, &len);
  unsigned port = 0;
  char *p = text ? strstr(text + at, "port=") : NULL;
  if (p) port = (unsigned)strtoul(p + 5, NULL, 10);
  free(text);
  return port;
}

static int post(unsigned port, const wire_buf *pb) {
  char ep[64];
  snprintf(ep, sizeof ep, "127.0.0.1:%u", port);
  wire_client_config cc = {.endpoint = ep, .proto = WIRE_CLIENT_H1};
  wire_err err = {0};
  wire_client *c = wire_client_new(&cc, &err);
  if (!c) return -1;
  wire_http_request req;
  wire_http_request_init(&req, 0, 0);
  wire_http_request_set_target(&req, "POST", "/v1/metrics", NULL, NULL);
  wire_headers_add_cstr(&req.headers, "content-type", "application/x-protobuf", NULL);
  wire_buf_append(&req.body, pb->data, pb->len, NULL);
  wire_http_response resp;
  wire_http_response_init(&resp, 0, 0);
  int status = wire_client_do(c, &req, &resp, wire_now_ns() + 10000000000LL, &err) == 0 ? resp.status : -1;
  wire_http_request_free(&req);
  wire_http_response_free(&resp);
  wire_client_free(c);
  return status;
}

/* Data points in the file exporter's output (one OTLP/JSON request per line). */
static uint64_t points_in_output(void) {
  size_t len;
  char *text = test_read_file(out_path, &len);
  if (!text) return 0;
  uint64_t points = 0;
  for (char *line = text; *line;) {
    char *nl = strchr(line, '\n');
    size_t n = nl ? (size_t)(nl - line) : strlen(line);
    if (n) {
      wire_err err = {0};
      otlp_request *r = wire_otlp_json_decode_request((const uint8_t *)line, n, 0, 0, NULL, &err);
      CHECK_MSG(r != NULL, "output line: %s", err.msg);
      if (r) points += wire_otlp_count_points(r);
      wire_otlp_request_free(r, NULL);
    }
    if (!nl) break;
    line = nl + 1;
  }
  free(text);
  return points;
}

static void reload_and_drain(void) {
  const char *build = getenv("OTELC_BUILD_DIR");
  char bin[600];
  snprintf(bin, sizeof bin, "%s/receiver/otelc-receiver", build ? build : ".");
  if (access(bin, X_OK) != 0) {
    test_fail(__FILE__, __LINE__, "%s is not built (build the otelc-receiver target)", bin);
    return;
  }
  const component_factory *file = registry_find(COMPONENT_EXPORTER, "file");
  if (!file || !file->hooks) {
    printf("# the file exporter has no runtime in this build: skipped\n");
    return;
  }
  snprintf(config_path, sizeof config_path, "%s/signals.yaml", test_tmpdir());
  snprintf(out_path, sizeof out_path, "%s/signals.out.jsonl", test_tmpdir());
  snprintf(log_path, sizeof log_path, "%s/signals.log", test_tmpdir());
  unlink(out_path);
  unlink(log_path);
  write_config("", false, 0);

  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 2);
    int nul = open("/dev/null", O_WRONLY);
    dup2(nul, 1);
    execl(bin, bin, "--config", config_path, (char *)NULL);
    _exit(127);
  }
  CHECK(pid > 0);
  long at = wait_log("Everything is ready", 0, 15000);
  CHECK_MSG(at > 0, "the receiver did not start (see %s)", log_path);
  unsigned port1 = http_port_after(0);
  CHECK(port1 != 0);

  otlp_request *req = sample_otlp_full();
  wire_buf pb;
  wire_buf_init(&pb, 0);
  wire_otlp_encode_request(req, &pb, NULL);
  sample_otlp_free(req);
  for (int i = 0; i < 3; i++) CHECK_EQ(post(port1, &pb), 200);
  CHECK_EQ(points_in_output(), 0); /* held by batch (1h timeout) */

  /* A bad configuration: reported, the old one keeps running (and keeps its data). */
  write_config("", true, 0);
  kill(pid, SIGHUP);
  long bad = wait_log("Reload failed", at, 10000);
  CHECK_MSG(bad > 0, "no reload failure reported (see %s)", log_path);
  CHECK_EQ(post(port1, &pb), 200);
  CHECK_EQ(points_in_output(), 0);

  /* A valid one that cannot start (its health_check port is taken): the old pipelines were stopped (and
   * flushed), so the previous configuration starts again. */
  int busy = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  socklen_t sl = sizeof sa;
  CHECK(bind(busy, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(busy, 1) == 0 &&
        getsockname(busy, (struct sockaddr *)&sa, &sl) == 0);
  write_config("", false, ntohs(sa.sin_port));
  kill(pid, SIGHUP);
  long back = wait_log("the previous configuration is running again", bad > 0 ? bad : at, 15000);
  CHECK_MSG(back > 0, "no fallback to the previous configuration (see %s)", log_path);
  close(busy);
  CHECK_EQ(points_in_output(), 4 * SAMPLE_FULL_POINTS);
  unsigned port_back = http_port_after(bad > 0 ? bad : at);
  /* (the first "Starting HTTP server" after the failed reload is the restored one: the new config failed on
   * its extension before its receivers started) */
  CHECK(port_back != 0);
  CHECK_EQ(post(port_back, &pb), 200);
  if (back > 0) bad = back;

  /* A good one: the old pipelines flush into the file, the new ones start (on a new port). */
  write_config(", include_metadata: true", false, 0);
  kill(pid, SIGHUP);
  long good = wait_log("Reload complete", bad > 0 ? bad : at, 15000);
  CHECK_MSG(good > 0, "no reload (see %s)", log_path);
  CHECK_EQ(points_in_output(), 5 * SAMPLE_FULL_POINTS);
  unsigned port2 = http_port_after(bad > 0 ? bad : at);
  CHECK(port2 != 0);
  if (port2 != port_back) CHECK_EQ(post(port_back, &pb), -1); /* the old listener is gone */
  for (int i = 0; i < 2; i++) CHECK_EQ(post(port2, &pb), 200);

  /* SIGTERM: drain and exit 0. */
  kill(pid, SIGTERM);
  int status = -1;
  int64_t deadline = wire_now_ns() + 20000000000LL;
  pid_t w = 0;
  while ((w = waitpid(pid, &status, WNOHANG)) == 0 && wire_now_ns() < deadline) usleep(10000);
  if (w == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    test_fail(__FILE__, __LINE__, "the receiver did not exit after SIGTERM");
  }
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK_EQ(points_in_output(), 7 * SAMPLE_FULL_POINTS);
  CHECK(wait_log("Shutdown complete", good > 0 ? good : 0, 1000) > 0);
  wire_buf_free(&pb);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  RUN(reload_and_drain);
  return test_finish();
}
