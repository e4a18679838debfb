/* test_routes.c — OTELC_HTTP_ROUTES templates: parsing the list, and which targets match which template. */
#include <string.h>

#include "autoinstr/routes.h"
#include "testlib.h"

static int m(const preload_routes *r, const char *t) { return preload_routes_match(r, t, strlen(t)); }

static void test_compile(void) {
  preload_routes r;
  CHECK_EQ(preload_routes_compile(&r, " /users/{id} , ,/static/*,nope,/"), 1);
  CHECK_EQ(r.n, 3);
  CHECK_STR(r.tmpl[0], "/users/{id}");
  CHECK_STR(r.tmpl[1], "/static/*");
  CHECK_STR(r.tmpl[2], "/");
  CHECK_EQ(preload_routes_compile(&r, NULL), 0);
  CHECK_EQ(r.n, 0);
  CHECK_EQ(m(&r, "/x"), -1);
}

static void test_match(void) {
  preload_routes r;
  preload_routes_compile(&r, "/users/{id},/users/{id}/posts/{post},/static/*,/,/health");
  CHECK_EQ(m(&r, "/users/42"), 0);
  CHECK_EQ(m(&r, "/users/42?full=1"), 0);
  CHECK_EQ(m(&r, "/users/42#frag"), 0);
  CHECK_EQ(m(&r, "/users/"), -1); /* {id} needs a non-empty segment */
  CHECK_EQ(m(&r, "/users"), -1);
  CHECK_EQ(m(&r, "/users/42/posts/7"), 1);
  CHECK_EQ(m(&r, "/users/42/posts"), -1);
  CHECK_EQ(m(&r, "/static/"), 2);
  CHECK_EQ(m(&r, "/static/css/site.css"), 2);
  CHECK_EQ(m(&r, "/static"), -1);
  CHECK_EQ(m(&r, "/"), 3);
  CHECK_EQ(m(&r, "/?q=1"), 3);
  CHECK_EQ(m(&r, "/health"), 4);
  CHECK_EQ(m(&r, "/healthz"), -1);
  CHECK_EQ(m(&r, "/health/"), -1);
  CHECK_EQ(m(&r, "http://example.com/users/1"), 0);
  CHECK_EQ(m(&r, "http://example.com"), 3);
  CHECK_EQ(m(&r, "*"), -1);
  CHECK_EQ(m(&r, ""), -1);
}

static void test_limits(void) {
  preload_routes r;
  char spec[PRELOAD_ROUTES_TEXT * 2];
  size_t off = 0;
  for (int i = 0; i < PRELOAD_MAX_ROUTES + 10; i++) off += (size_t)snprintf(spec + off, sizeof spec - off, "/r%d,", i);
  CHECK_EQ(preload_routes_compile(&r, spec), 10);
  CHECK_EQ(r.n, PRELOAD_MAX_ROUTES);
  memset(spec, 'a', sizeof spec - 1);
  spec[0] = '/';
  spec[sizeof spec - 1] = 0;
  CHECK_EQ(preload_routes_compile(&r, spec), 1); /* longer than the text area */
  CHECK_EQ(r.n, 0);
}

int main(void) {
  RUN(test_compile);
  RUN(test_match);
  RUN(test_limits);
  return test_finish();
}
