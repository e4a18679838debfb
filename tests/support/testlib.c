/* testlib.c — assertion kit for otelc's C tests (see testlib.h). */
#include "testlib.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int test_failures_in_case;
static int cases_passed, cases_failed;
static const char *current_case = "?";

void test_fail(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "FAIL %s (%s:%d): ", current_case, file, line);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  test_failures_in_case++;
}

void test_run(const char *name, void (*fn)(void)) {
  current_case = name;
  test_failures_in_case = 0;
  fn();
  if (test_failures_in_case) {
    cases_failed++;
    fprintf(stderr, "not ok - %s\n", name);
  } else {
    cases_passed++;
    fprintf(stderr, "ok - %s\n", name);
  }
}

int test_finish(void) {
  printf("%d passed, %d failed\n", cases_passed, cases_failed);
  return cases_failed ? 1 : 0;
}

const char *test_tmpdir(void) {
  static char dir[512];
  if (dir[0]) return dir;
  const char *base = getenv("OTELC_TEST_TMP");
  if (!base || !*base) base = "/tmp";
  mkdir(base, 0755);
  snprintf(dir, sizeof dir, "%s/otelc-test-%d", base, (int)getpid());
  if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
    perror(dir);
    abort();
  }
  return dir;
}

char *test_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  char *p = malloc(cap);
  size_t r;
  while (p && (r = fread(p + n, 1, cap - n - 1, f)) > 0) {
    n += r;
    if (cap - n < 2) {
      char *q = realloc(p, cap *= 2);
      if (!q) { free(p); p = NULL; break; }
      p = q;
    }
  }
  fclose(f);
  if (!p) return NULL;
  p[n] = '\0';
  if (len) *len = n;
  return p;
}

int test_sh(const char *fmt, ...) {
  char cmd[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  int rc = system(cmd);
  if (rc == -1) return -1;
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}
