/* prom_names.c — OTLP → Prometheus names, units, escaping and number formatting (see prom_names.h). */
#include "receiver/exporters/prom_names.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/decimal.h"
#include "wire/grow.h"

/* ---- units ------------------------------------------------------------------------------------------------------ */

typedef struct unit_word {
  const char *ucum;
  const char *word;
} unit_word;

/* UCUM unit → Prometheus word, as in the OpenTelemetry/Prometheus translation tables ("1" maps to nothing). */
static const unit_word unit_words[] = {
    {"d", "days"},        {"h", "hours"},          {"min", "minutes"},     {"s", "seconds"},
    {"ms", "milliseconds"}, {"us", "microseconds"}, {"ns", "nanoseconds"}, {"By", "bytes"},
    {"KiBy", "kibibytes"}, {"MiBy", "mebibytes"},  {"GiBy", "gibibytes"},  {"TiBy", "tebibytes"},
    {"KBy", "kilobytes"}, {"MBy", "megabytes"},    {"GBy", "gigabytes"},   {"TBy", "terabytes"},
    {"m", "meters"},      {"V", "volts"},          {"A", "amperes"},       {"J", "joules"},
    {"W", "watts"},       {"g", "grams"},          {"Cel", "celsius"},     {"Hz", "hertz"},
    {"1", ""},            {"%", "percent"},
};

/* The denominator of "x/y" units, singular. */
static const unit_word per_unit_words[] = {
    {"s", "second"}, {"m", "minute"}, {"h", "hour"}, {"d", "day"},
    {"w", "week"},   {"mo", "month"}, {"y", "year"},
};

typedef struct span {
  const char *p;
  size_t n;
} span;

static bool span_eq(span a, const char *s) { return strlen(s) == a.n && memcmp(a.p, s, a.n) == 0; }

static span span_trim(span s) {
  while (s.n && (s.p[0] == ' ' || s.p[0] == '\t')) s.p++, s.n--;
  while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t')) s.n--;
  return s;
}

static bool span_has_brace(span s) { return memchr(s.p, '{', s.n) || memchr(s.p, '}', s.n); }

static span lookup_unit(span u, const unit_word *tab, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (span_eq(u, tab[i].ucum)) return (span){tab[i].word, strlen(tab[i].word)};
  return u;
}

static bool is_metric_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':';
}

/* cleanUpUnit: invalid characters → '_', runs of '_' collapsed, leading '_' dropped. Writes into out (room n). */
static size_t clean_unit(char *out, span u) {
  size_t o = 0;
  for (size_t i = 0; i < u.n; i++) {
    char c = is_metric_char((unsigned char)u.p[i]) ? u.p[i] : '_';
    if (c == '_' && (o == 0 || out[o - 1] == '_')) continue;
    out[o++] = c;
  }
  return o;
}

/* Splits the unit into its main and "per" words, both cleaned up; the per part is "per_<word>" or empty. Buffers
 * must hold len(unit) + 8 bytes. */
static void unit_suffixes(const char *unit, char *main_out, size_t *main_len, char *per_out, size_t *per_len) {
  *main_len = *per_len = 0;
  if (!unit || !*unit) return;
  const char *slash = strchr(unit, '/');
  span main_part = {unit, slash ? (size_t)(slash - unit) : strlen(unit)};
  main_part = span_trim(main_part);
  if (main_part.n && !span_has_brace(main_part)) {
    span w = lookup_unit(main_part, unit_words, sizeof unit_words / sizeof unit_words[0]);
    *main_len = clean_unit(main_out, w);
  }
  if (slash && slash[1]) {
    span per_part = span_trim((span){slash + 1, strlen(slash + 1)});
    if (per_part.n && !span_has_brace(per_part)) {
      span w = lookup_unit(per_part, per_unit_words, sizeof per_unit_words / sizeof per_unit_words[0]);
      if (w.n) {
        char tmp[8 + 512];
        if (w.n > 512) w.n = 512;
        memcpy(tmp, "per_", 4);
        memcpy(tmp + 4, w.p, w.n);
        *per_len = clean_unit(per_out, (span){tmp, 4 + w.n});
      }
    }
  }
}

size_t prom_unit_words(wire_buf *out, const char *unit) {
  size_t ulen = unit ? strlen(unit) : 0;
  char *main_w = malloc(ulen + 600), *per_w = malloc(ulen + 600);
  if (!main_w || !per_w) {
    free(main_w);
    free(per_w);
    return 0;
  }
  size_t ml, pl;
  unit_suffixes(unit, main_w, &ml, per_w, &pl);
  size_t start = out->len;
  if (ml && pl) {
    wire_buf_append(out, main_w, ml, NULL);
    wire_buf_append(out, "_", 1, NULL);
    wire_buf_append(out, per_w, pl, NULL);
  } else if (ml) {
    wire_buf_append(out, main_w, ml, NULL);
  } else {
    wire_buf_append(out, per_w, pl, NULL);
  }
  free(main_w);
  free(per_w);
  if (out->len == start) return 0;
  /* trim leading and trailing '_' */
  char *p = (char *)out->data + start;
  size_t n = out->len - start;
  size_t a = 0;
  while (a < n && p[a] == '_') a++;
  while (n > a && p[n - 1] == '_') n--;
  memmove(p, p + a, n - a);
  out->len = start + (n - a);
  return out->len - start;
}

/* ---- metric names ----------------------------------------------------------------------------------------------- */

typedef struct tokens {
  span *t;
  size_t n, cap;
} tokens;

static bool tok_push(tokens *tk, span s) {
  if (tk->n == tk->cap) {
    span *t = wire_grow_array(tk->t, &tk->cap, sizeof *t, 16);
    if (!t) return false;
    tk->t = t;
  }
  tk->t[tk->n++] = s;
  return true;
}

/* Splits s on characters outside [a-zA-Z0-9:] ('_' included): the tokens never contain '_'. */
static bool tokenize(tokens *tk, const char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    while (i < n && !is_metric_char((unsigned char)s[i])) i++;
    size_t b = i;
    while (i < n && is_metric_char((unsigned char)s[i])) i++;
    if (i > b && !tok_push(tk, (span){s + b, i - b})) return false;
  }
  return true;
}

/* True when the '_'-separated words of `seq` appear consecutively among the tokens. */
static bool contains_seq(const tokens *tk, const char *seq, size_t n) {
  tokens words = {0};
  if (!tokenize(&words, seq, n) || words.n == 0) {
    free(words.t);
    return false;
  }
  bool found = false;
  for (size_t i = 0; !found && i + words.n <= tk->n; i++) {
    size_t j = 0;
    while (j < words.n && tk->t[i + j].n == words.t[j].n && memcmp(tk->t[i + j].p, words.t[j].p, words.t[j].n) == 0)
      j++;
    found = j == words.n;
  }
  free(words.t);
  return found;
}

static bool valid_result(const char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != '_') return true;
  return false;
}

/* Without suffixes: runs of characters outside [a-zA-Z0-9:_] become one '_', at the ends they vanish. */
static void append_replaced(wire_buf *out, const char *s, size_t n) {
  size_t i = 0;
  bool first = true;
  while (i < n) {
    while (i < n && !(is_metric_char((unsigned char)s[i]) || s[i] == '_')) i++;
    size_t b = i;
    while (i < n && (is_metric_char((unsigned char)s[i]) || s[i] == '_')) i++;
    if (i > b) {
      if (!first) wire_buf_append(out, "_", 1, NULL);
      wire_buf_append(out, s + b, i - b, NULL);
      first = false;
    }
  }
}

static size_t finish_name(wire_buf *out, size_t start) {
  size_t n = out->len - start;
  if (n == 0 || !valid_result((char *)out->data + start, n)) {
    out->len = start;
    return 0;
  }
  return n;
}

size_t prom_metric_name(wire_buf *out, const char *name, const char *unit, prom_name_kind kind, const char *ns,
                        bool add_suffixes) {
  size_t start = out->len;
  size_t name_len = name ? strlen(name) : 0;
  size_t ns_len = ns ? strlen(ns) : 0;

  if (!add_suffixes) {
    if (ns_len) {
      append_replaced(out, ns, ns_len);
      if (out->len > start) wire_buf_append(out, "_", 1, NULL);
    } else {
      size_t i = 0;
      while (i < name_len && !(is_metric_char((unsigned char)name[i]) || name[i] == '_')) i++;
      if (i < name_len && name[i] >= '0' && name[i] <= '9') wire_buf_append(out, "_", 1, NULL);
    }
    append_replaced(out, name ? name : "", name_len);
    return finish_name(out, start);
  }

  size_t ulen = unit ? strlen(unit) : 0;
  char *main_w = malloc(ulen + 600), *per_w = malloc(ulen + 600);
  tokens tk = {0};
  size_t result = 0;
  if (!main_w || !per_w || !tokenize(&tk, name ? name : "", name_len)) goto done;

  size_t ml, pl;
  unit_suffixes(unit, main_w, &ml, per_w, &pl);
  if (ml && contains_seq(&tk, main_w, ml)) ml = 0;
  if (pl == 4 && memcmp(per_w, "per_", 4) == 0) {
    pl = 0;
  } else {
    while (pl && per_w[pl - 1] == '_') pl--;
    if (pl && contains_seq(&tk, per_w, pl)) pl = 0;
  }
  if (pl) {
    while (ml && main_w[ml - 1] == '_') ml--;
  }
  const char *type_suffix = NULL;
  if (kind == PROM_NAME_COUNTER) type_suffix = "total";
  else if (kind == PROM_NAME_GAUGE && unit && strcmp(unit, "1") == 0) type_suffix = "ratio";

  /* namespace, name tokens (minus the type word), unit words, type word — joined by '_' */
  bool first = true;
  if (ns_len) {
    tokens nt = {0};
    if (tokenize(&nt, ns, ns_len)) {
      for (size_t i = 0; i < nt.n; i++) {
        if (!first) wire_buf_append(out, "_", 1, NULL);
        wire_buf_append(out, nt.t[i].p, nt.t[i].n, NULL);
        first = false;
      }
    }
    free(nt.t);
  }
  for (size_t i = 0; i < tk.n; i++) {
    if (type_suffix && span_eq(tk.t[i], type_suffix)) continue;
    if (!first) wire_buf_append(out, "_", 1, NULL);
    wire_buf_append(out, tk.t[i].p, tk.t[i].n, NULL);
    first = false;
  }
  if (ml) {
    if (!first) wire_buf_append(out, "_", 1, NULL);
    wire_buf_append(out, main_w, ml, NULL);
    first = false;
  }
  if (pl) {
    if (!first) wire_buf_append(out, "_", 1, NULL);
    wire_buf_append(out, per_w, pl, NULL);
    first = false;
  }
  if (type_suffix) {
    if (!first) wire_buf_append(out, "_", 1, NULL);
    wire_buf_append_str(out, type_suffix, NULL);
  }
  if (out->len > start && out->data[start] >= '0' && out->data[start] <= '9') {
    if (wire_buf_reserve(out, 1, NULL) == 0) {
      memmove(out->data + start + 1, out->data + start, out->len - start);
      out->data[start] = '_';
      out->len++;
    }
  }
  result = finish_name(out, start);
done:
  free(tk.t);
  free(main_w);
  free(per_w);
  if (!result) out->len = start;
  return result;
}

/* ---- label names ------------------------------------------------------------------------------------------------ */

size_t prom_label_name(char *out, const char *key, size_t len) {
  if (len == 0) return 0;
  size_t o = 4; /* room for a "key_" prefix, moved down below when not needed */
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)key[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_') out[o++] = (char)c;
    else if ((c & 0xC0) != 0x80) out[o++] = '_'; /* one '_' per character: UTF-8 continuation bytes are skipped */
  }
  size_t n = o - 4;
  if (n == 0 || !valid_result(out + 4, n)) return 0;
  char first = out[4];
  if (first >= '0' && first <= '9') {
    memcpy(out, "key_", 4);
    return 4 + n;
  }
  if (first == '_' && !(n > 1 && out[5] == '_')) {
    memcpy(out + 1, "key", 3);
    memmove(out, out + 1, 3 + n);
    return 3 + n;
  }
  memmove(out, out + 4, n);
  return n;
}

/* ---- escaping --------------------------------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence starting at p (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n) {
  unsigned char c = p[0];
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) need = 1;
  else if (c == 0xE0) need = 2, lo = 0xA0;
  else if (c >= 0xE1 && c <= 0xEC) need = 2;
  else if (c == 0xED) need = 2, hi = 0x9F;
  else if (c >= 0xEE && c <= 0xEF) need = 2;
  else if (c == 0xF0) need = 3, lo = 0x90;
  else if (c >= 0xF1 && c <= 0xF3) need = 3;
  else if (c == 0xF4) need = 3, hi = 0x8F;
  else return 0;
  if (n < need + 1) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  for (size_t i = 2; i <= need; i++)
    if ((p[i] & 0xC0) != 0x80) return 0;
  return need + 1;
}

size_t prom_escape_value(char *out, const char *v, size_t len, bool help, bool openmetrics) {
  const unsigned char *p = (const unsigned char *)v;
  bool esc_quote = !help || openmetrics;
  size_t o = 0, i = 0;
  while (i < len) {
    /* fast path: a run of plain ASCII */
    size_t b = i;
    while (i < len && p[i] < 0x80 && p[i] != '\\' && p[i] != '\n' && (p[i] != '"' || !esc_quote)) i++;
    if (i > b) {
      memcpy(out + o, p + b, i - b);
      o += i - b;
    }
    if (i >= len) break;
    unsigned char c = p[i];
    if (c == '\\') {
      out[o++] = '\\', out[o++] = '\\', i++;
    } else if (c == '\n') {
      out[o++] = '\\', out[o++] = 'n', i++;
    } else if (c == '"') {
      out[o++] = '\\', out[o++] = '"', i++;
    } else {
      size_t sl = utf8_seq(p + i, len - i);
      if (sl) {
        memcpy(out + o, p + i, sl);
        o += sl, i += sl;
      } else {
        out[o++] = (char)0xEF, out[o++] = (char)0xBF, out[o++] = (char)0xBD, i++;
      }
    }
  }
  return o;
}

/* ---- numbers ---------------------------------------------------------------------------------------------------- */

size_t prom_fmt_u64(char *out, uint64_t v) { return wire_fmt_u64(out, v); }

size_t prom_fmt_i64(char *out, int64_t v) { return wire_fmt_i64(out, v); }

/* Shortest decimal digits that read back as v (v > 0, finite): digits without trailing zeros, and dp such that
 * v = 0.d1d2... × 10^dp. */
static size_t shortest_digits(double v, char *dig, int *dp) {
  if (v < 9007199254740992.0 && v == floor(v)) {
    size_t n = prom_fmt_u64(dig, (uint64_t)v);
    *dp = (int)n;
    while (n > 1 && dig[n - 1] == '0') n--;
    return n;
  }
  /* Fast exact path for short decimals (0.005, 3.125, 12.5): if v × 10^k is an integer x < 2^52 and x / 10^k
   * reads back as v, those digits are the shortest form (below 2^52 the rounding interval of v × 10^k is narrower
   * than 1, so no other k-decimal string reads back as v, and a smaller k was tried first). */
  static const double p10[] = {1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
  for (int k = 0; k < 9; k++) {
    double x = v * p10[k];
    if (x >= 4503599627370496.0) break;
    if (x == floor(x) && x / p10[k] == v) {
      size_t n = prom_fmt_u64(dig, (uint64_t)x);
      *dp = (int)n - (k + 1);
      while (n > 1 && dig[n - 1] == '0') n--;
      return n;
    }
  }
  char buf[40];
  /* A value whose shortest form has k <= 15 digits prints as those digits plus zeros at precision 15 (the 15-digit
   * grid is finer than a normal double's rounding interval), so 15, 16, 17 suffice. Subnormals have fewer bits:
   * search every precision. */
  for (int prec = v < 2.2250738585072014e-308 ? 1 : 15; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
    if (prec == 17 || strtod(buf, NULL) == v) break;
  }
  /* buf: d.ddddde[+-]xx */
  size_t n = 0;
  const char *p = buf;
  while (*p && *p != 'e') {
    if (*p >= '0' && *p <= '9') dig[n++] = *p;
    p++;
  }
  int e = *p == 'e' ? atoi(p + 1) : 0;
  while (n > 1 && dig[n - 1] == '0') n--;
  *dp = e + 1;
  return n;
}

size_t prom_fmt_float_go(char *out, double v) {
  if (isnan(v)) return memcpy(out, "NaN", 3), 3;
  if (isinf(v)) return memcpy(out, v > 0 ? "+Inf" : "-Inf", 4), 4;
  size_t o = 0;
  if (signbit(v)) out[o++] = '-', v = -v;
  if (v == 0) return out[o++] = '0', o;
  char dig[24];
  int dp;
  size_t nd = shortest_digits(v, dig, &dp);
  int exp = dp - 1;
  if (exp < -4 || exp >= 6) { /* Go's shortest 'g' switches to %e at exponent 6 */
    out[o++] = dig[0];
    if (nd > 1) {
      out[o++] = '.';
      memcpy(out + o, dig + 1, nd - 1);
      o += nd - 1;
    }
    out[o++] = 'e';
    out[o++] = exp < 0 ? '-' : '+';
    int ae = exp < 0 ? -exp : exp;
    if (ae < 10) out[o++] = '0';
    o += prom_fmt_u64(out + o, (uint64_t)ae);
    return o;
  }
  if (dp <= 0) {
    out[o++] = '0', out[o++] = '.';
    for (int i = 0; i < -dp; i++) out[o++] = '0';
    memcpy(out + o, dig, nd);
    return o + nd;
  }
  if ((size_t)dp >= nd) {
    memcpy(out + o, dig, nd);
    o += nd;
    for (size_t i = nd; i < (size_t)dp; i++) out[o++] = '0';
    return o;
  }
  memcpy(out + o, dig, (size_t)dp);
  o += (size_t)dp;
  out[o++] = '.';
  memcpy(out + o, dig + dp, nd - (size_t)dp);
  return o + nd - (size_t)dp;
}

size_t prom_fmt_float_om(char *out, double v) {
  size_t n = prom_fmt_float_go(out, v);
  if (isfinite(v) && !memchr(out, '.', n) && !memchr(out, 'e', n)) out[n++] = '.', out[n++] = '0';
  return n;
}

size_t prom_fmt_value(char *out, double v) {
  if (v == floor(v) && fabs(v) < 9007199254740992.0 && !(v == 0 && signbit(v))) return prom_fmt_i64(out, (int64_t)v);
  return prom_fmt_float_go(out, v);
}
