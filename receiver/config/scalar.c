/* scalar.c — Go-compatible parsing and formatting of config scalars (see scalar.h). */
#include "receiver/config/scalar.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool cfg_parse_int(const char *s, int64_t *out) {
  const char *p = s;
  bool neg = false;
  if (*p == '+' || *p == '-') neg = *p++ == '-';
  unsigned base = 10;
  if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) base = 16, p += 2;
  else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O')) base = 8, p += 2;
  else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B')) base = 2, p += 2;
  uint64_t v = 0;
  bool any = false, last_us = false;
  for (; *p; p++) {
    if (*p == '_') {
      if (!any || last_us) return false;
      last_us = true;
      continue;
    }
    unsigned d;
    if (*p >= '0' && *p <= '9') d = (unsigned)(*p - '0');
    else if (*p >= 'a' && *p <= 'f') d = (unsigned)(*p - 'a' + 10);
    else if (*p >= 'A' && *p <= 'F') d = (unsigned)(*p - 'A' + 10);
    else return false;
    if (d >= base) return false;
    if (v > (UINT64_MAX - d) / base) return false;
    v = v * base + d;
    any = true;
    last_us = false;
  }
  if (!any || last_us) return false;
  if (neg) {
    if (v > (uint64_t)INT64_MAX + 1) return false;
    *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
  } else {
    if (v > (uint64_t)INT64_MAX) return false;
    *out = (int64_t)v;
  }
  return true;
}

bool cfg_parse_double(const char *s, double *out) {
  if (!*s || isspace((unsigned char)*s)) return false;
  if (!strcasecmp(s, ".inf") || !strcasecmp(s, "+.inf") || !strcasecmp(s, "-.inf") || !strcasecmp(s, ".nan"))
    return false; /* no config value wants these */
  /* strtod also takes "inf", "nan" and hex floats: accept only decimal syntax. */
  for (const char *p = s; *p; p++)
    if (!strchr("0123456789+-.eE_", *p)) return false;
  char tmp[64];
  size_t n = 0;
  for (const char *p = s; *p; p++) {
    if (*p == '_') continue;
    if (n + 1 >= sizeof tmp) return false;
    tmp[n++] = *p;
  }
  tmp[n] = '\0';
  char *end;
  errno = 0;
  double v = strtod(tmp, &end);
  if (end == tmp || *end || errno == ERANGE || !isfinite(v)) return false;
  *out = v;
  return true;
}

bool cfg_parse_bool(const char *s, bool *out) {
  static const char *const yes[] = {"true", "yes", "on", "y"};
  static const char *const no[] = {"false", "no", "off", "n"};
  for (size_t i = 0; i < 4; i++) {
    if (!strcasecmp(s, yes[i])) return *out = true, true;
    if (!strcasecmp(s, no[i])) return *out = false, true;
  }
  return false;
}

/* Unit table of time.ParseDuration. */
static const struct {
  const char *name;
  uint64_t ns;
} duration_units[] = {
    {"ns", 1},          {"us", 1000},           {"\xc2\xb5s", 1000}, /* µs U+00B5 */
    {"\xce\xbcs", 1000}, /* μs U+03BC */
    {"ms", 1000000},    {"s", 1000000000ull},   {"m", 60000000000ull}, {"h", 3600000000000ull},
};

bool cfg_parse_duration(const char *s, int64_t *ns) {
  const char *p = s;
  bool neg = false;
  if (*p == '+' || *p == '-') neg = *p++ == '-';
  if (!strcmp(p, "0")) return *ns = 0, true;
  if (!*p) return false;
  uint64_t total = 0;
  const uint64_t limit = (uint64_t)INT64_MAX + (neg ? 1 : 0);
  while (*p) {
    uint64_t whole = 0, frac = 0, scale = 1;
    bool digits = false;
    while (*p >= '0' && *p <= '9') {
      if (whole > (UINT64_MAX - 9) / 10) return false;
      whole = whole * 10 + (uint64_t)(*p++ - '0');
      digits = true;
    }
    if (*p == '.') {
      p++;
      while (*p >= '0' && *p <= '9') {
        if (scale < 1000000000000000000ull) { /* keep 18 fractional digits, ignore the rest like Go does */
          frac = frac * 10 + (uint64_t)(*p - '0');
          scale *= 10;
        }
        p++;
        digits = true;
      }
    }
    if (!digits) return false;
    const char *u = p;
    while (*p && !(*p >= '0' && *p <= '9') && *p != '.') p++;
    size_t ulen = (size_t)(p - u);
    if (ulen == 0) return false; /* "missing unit" */
    uint64_t unit = 0;
    for (size_t i = 0; i < sizeof duration_units / sizeof duration_units[0]; i++)
      if (strlen(duration_units[i].name) == ulen && !memcmp(duration_units[i].name, u, ulen)) unit = duration_units[i].ns;
    if (!unit) return false;
    if (whole > limit / unit) return false;
    uint64_t v = whole * unit;
    if (frac) {
      /* frac/scale * unit, in floating point: exact enough for config durations (Go rounds similarly). */
      double f = (double)frac * ((double)unit / (double)scale);
      v += (uint64_t)f;
    }
    if (v > limit - total) return false;
    total += v;
  }
  if (neg) *ns = total == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)total;
  else *ns = (int64_t)total;
  return true;
}

/* Writes v / 10^prec with trailing zeros of the fraction removed: frac_str(1500, 3) = "1.5". */
static int fmt_fixed(char *buf, size_t size, uint64_t v, unsigned prec) {
  uint64_t div = 1;
  for (unsigned i = 0; i < prec; i++) div *= 10;
  uint64_t whole = v / div, frac = v % div;
  if (!frac) return snprintf(buf, size, "%llu", (unsigned long long)whole);
  char f[24];
  snprintf(f, sizeof f, "%0*llu", (int)prec, (unsigned long long)frac);
  size_t n = strlen(f);
  while (n > 0 && f[n - 1] == '0') f[--n] = '\0';
  return snprintf(buf, size, "%llu.%s", (unsigned long long)whole, f);
}

void cfg_format_duration(int64_t ns, char *buf, size_t size) {
  if (ns == 0) {
    snprintf(buf, size, "0s");
    return;
  }
  uint64_t u = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
  const char *sign = ns < 0 ? "-" : "";
  char num[40];
  if (u < 1000ull) {
    snprintf(buf, size, "%s%lluns", sign, (unsigned long long)u);
  } else if (u < 1000000ull) {
    fmt_fixed(num, sizeof num, u, 3);
    snprintf(buf, size, "%s%sus", sign, num);
  } else if (u < 1000000000ull) {
    fmt_fixed(num, sizeof num, u, 6);
    snprintf(buf, size, "%s%sms", sign, num);
  } else {
    uint64_t h = u / 3600000000000ull, rem = u % 3600000000000ull;
    uint64_t m = rem / 60000000000ull, s = rem % 60000000000ull;
    fmt_fixed(num, sizeof num, s, 9);
    if (h) snprintf(buf, size, "%s%lluh%llum%ss", sign, (unsigned long long)h, (unsigned long long)m, num);
    else if (m) snprintf(buf, size, "%s%llum%ss", sign, (unsigned long long)m, num);
    else snprintf(buf, size, "%s%ss", sign, num);
  }
}

void cfg_format_double(double v, char *buf, size_t size) {
  if (v == floor(v) && fabs(v) < 1e15) {
    snprintf(buf, size, "%.0f", v);
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, size, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) return;
  }
}
