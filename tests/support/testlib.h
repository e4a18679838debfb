/* testlib.h — the small assertion kit of otelc's C tests.
 *
 * CHECK* macros record a failure with file:line and go on; a test file's main() runs its cases with RUN(fn)
 * and returns test_finish(), which prints "N passed, N failed" (the line ctest logs show) and the exit code. */
#ifndef OTELC_TESTLIB_H
#define OTELC_TESTLIB_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern int test_failures_in_case;

void test_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void test_run(const char *name, void (*fn)(void));
int test_finish(void);
/* A scratch directory for this test process (created on first use, under $OTELC_TEST_TMP or /tmp). */
const char *test_tmpdir(void);
/* Reads a whole file; returns malloc'd bytes (NUL-terminated) or NULL. */
char *test_read_file(const char *path, size_t *len);
/* Runs a shell command; returns its exit status (or -1). */
int test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define RUN(fn) test_run(#fn, fn)
#define CHECK(cond) \
  do { if (!(cond)) test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond); } while (0)
#define CHECK_MSG(cond, ...) \
  do { if (!(cond)) test_fail(__FILE__, __LINE__, __VA_ARGS__); } while (0)
#define CHECK_EQ(a, b) \
  do { long long _a = (long long)(a), _b = (long long)(b); \
       if (_a != _b) test_fail(__FILE__, __LINE__, "%s == %s (%lld != %lld)", #a, #b, _a, _b); } while (0)
#define CHECK_EQ_U64(a, b) \
  do { uint64_t _a = (uint64_t)(a), _b = (uint64_t)(b); \
       if (_a != _b) test_fail(__FILE__, __LINE__, "%s == %s (%" PRIu64 " != %" PRIu64 ")", #a, #b, _a, _b); } while (0)
#define CHECK_DBL(a, b) \
  do { double _a = (double)(a), _b = (double)(b); double _d = _a - _b; if (_d < 0) _d = -_d; \
       if (_d > 1e-9 * (1 + (_a < 0 ? -_a : _a))) test_fail(__FILE__, __LINE__, "%s == %s (%.17g != %.17g)", #a, #b, _a, _b); } while (0)
#define CHECK_STR(a, b) \
  do { const char *_a = (a), *_b = (b); \
       if (!_a || !_b || strcmp(_a, _b) != 0) test_fail(__FILE__, __LINE__, "%s == %s (\"%s\" != \"%s\")", #a, #b, _a ? _a : "(null)", _b ? _b : "(null)"); } while (0)
#define CHECK_CONTAINS(hay, needle) \
  do { const char *_h = (hay), *_n = (needle); \
       if (!_h || !strstr(_h, _n)) test_fail(__FILE__, __LINE__, "\"%s\" contains \"%s\"", _h ? _h : "(null)", _n); } while (0)

#endif
