/* emit.c — writes decoded configuration back as YAML for --print-config, with secrets redacted.
 *
 * Output follows the schema order and includes defaults, so it shows the effective configuration. Secret fields
 * (CFG_SECRET) and, in raw subtrees, values under keys that look secret print as "[REDACTED]". */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "receiver/config/scalar.h"
#include "receiver/config/schema.h"

#define REDACTED "\"[REDACTED]\""

static bool needs_quotes(const char *s) {
  if (!*s) return true;
  static const char *const special[] = {"true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"};
  for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
    if (!strcasecmp(s, special[i])) return true;
  if (strchr("-?:,[]{}#&*!|>'\"%@` ", s[0])) return true;
  if (isdigit((unsigned char)s[0]) || s[0] == '.' || s[0] == '+') { /* quote what would read as a number */
    int64_t i;
    double d;
    if (cfg_parse_int(s, &i) || cfg_parse_double(s, &d)) return true;
  }
  for (const char *p = s; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') return true;
    if (c == ':' && (p[1] == ' ' || p[1] == '\0')) return true;
    if (c == '#' && p > s && p[-1] == ' ') return true;
  }
  size_t n = strlen(s);
  return s[n - 1] == ' ';
}

void cfg_emit_scalar(FILE *out, const char *s) {
  if (!needs_quotes(s)) {
    fputs(s, out);
    return;
  }
  fputc('"', out);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(out, "\\%c", *p);
    else if (*p == '\n') fputs("\\n", out);
    else if (*p == '\t') fputs("\\t", out);
    else if (*p < 0x20 || *p == 0x7f) fprintf(out, "\\x%02x", *p);
    else fputc(*p, out);
  }
  fputc('"', out);
}

static void pad(FILE *out, int indent) {
  for (int i = 0; i < indent; i++) fputc(' ', out);
}

/* A scalar value and its line end: REDACTED for a secret. */
static void emit_value_line(FILE *out, const char *v, bool secret) {
  if (secret) fputs(REDACTED, out);
  else cfg_emit_scalar(out, v);
  fputc('\n', out);
}

/* After "key:" of a string list or map: `empty` (" []" or " {}") and false when it has no items, else the line
 * end its indented items follow and true. */
static bool open_collection(FILE *out, size_t n, const char *empty) {
  if (!n) {
    fputs(empty, out);
    return false;
  }
  fputc('\n', out);
  return true;
}

static bool secret_key(const char *k) {
  static const char *const words[] = {"token", "password", "passwd", "secret", "authorization", "api_key",
                                      "apikey", "key_pem", "bearer", "credential", "private_key"};
  char lower[128];
  size_t n = 0;
  for (; k[n] && n + 1 < sizeof lower; n++) lower[n] = (char)tolower((unsigned char)k[n]);
  lower[n] = '\0';
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
    if (strstr(lower, words[i])) return true;
  return false;
}

static void emit_node_body(FILE *out, const cfg_node *n, int indent, bool redact);

static void emit_node_value(FILE *out, const cfg_node *n, int indent, bool redact) {
  switch (n->kind) {
  case CFG_NODE_NULL: fputs(" null\n", out); return;
  case CFG_NODE_SCALAR:
    fputc(' ', out);
    emit_value_line(out, n->text, redact);
    return;
  case CFG_NODE_MAP:
  case CFG_NODE_SEQ:
    if (n->n == 0) {
      fputs(n->kind == CFG_NODE_MAP ? " {}\n" : " []\n", out);
      return;
    }
    fputc('\n', out);
    emit_node_body(out, n, indent, redact);
    return;
  }
}

static void emit_node_body(FILE *out, const cfg_node *n, int indent, bool redact) {
  if (n->kind == CFG_NODE_MAP) {
    for (size_t i = 0; i < n->n; i++) {
      pad(out, indent);
      cfg_emit_scalar(out, n->pairs[i].key->text);
      fputc(':', out);
      emit_node_value(out, n->pairs[i].value, indent + 2, redact || secret_key(n->pairs[i].key->text));
    }
  } else if (n->kind == CFG_NODE_SEQ) {
    for (size_t i = 0; i < n->n; i++) {
      pad(out, indent);
      fputc('-', out);
      emit_node_value(out, n->items[i], indent + 2, redact);
    }
  }
}

void cfg_emit_node(FILE *out, const cfg_node *n, int indent, bool redact) {
  if (!n) return;
  if (n->kind == CFG_NODE_MAP || n->kind == CFG_NODE_SEQ) emit_node_body(out, n, indent, redact);
}

static bool field_is_empty(const cfg_field *f, const void *p) {
  switch (f->type) {
  case CFG_T_STRING:
  case CFG_T_COMPONENT_REF: return *(char *const *)p == NULL;
  case CFG_T_SECTION: return (f->flags & CFG_OPTIONAL) && *(void *const *)p == NULL;
  case CFG_T_RAW: return *(const cfg_node *const *)p == NULL;
  case CFG_T_VALUE: return ((const cfg_value *)p)->kind == CFG_VALUE_NONE;
  default: return false;
  }
}

static bool emits_anything(const cfg_schema *s, const void *obj) {
  if (s->open) {
    const cfg_node *raw = *(const cfg_node *const *)((const char *)obj + s->raw_offset);
    if (raw && raw->kind == CFG_NODE_MAP) return raw->n > 0;
  }
  for (const cfg_field *f = s->fields; f && f->key; f++)
    if (!(f->flags & (CFG_NO_EFFECT | CFG_DEPRECATED)) && !field_is_empty(f, (const char *)obj + f->offset))
      return true;
  return false;
}

void cfg_emit(FILE *out, const cfg_schema *s, const void *obj, int indent) {
  if (s->open) {
    const cfg_node *raw = *(const cfg_node *const *)((const char *)obj + s->raw_offset);
    if (raw && raw->kind == CFG_NODE_MAP) {
      cfg_emit_node(out, raw, indent, false);
      return;
    }
  }
  for (const cfg_field *f = s->fields; f && f->key; f++) {
    if (f->flags & (CFG_NO_EFFECT | CFG_DEPRECATED)) continue;
    const void *p = (const char *)obj + f->offset;
    if (field_is_empty(f, p)) continue;
    bool secret = f->flags & CFG_SECRET;
    char buf[64];
    pad(out, indent);
    cfg_emit_scalar(out, f->key);
    fputc(':', out);
    switch (f->type) {
    case CFG_T_STRING:
    case CFG_T_COMPONENT_REF: {
      const char *v = *(char *const *)p;
      fputc(' ', out);
      emit_value_line(out, v, secret && *v);
      break;
    }
    case CFG_T_INT:
    case CFG_T_BYTES: fprintf(out, " %lld\n", (long long)*(const int64_t *)p); break;
    case CFG_T_MIB: fprintf(out, " %lld\n", (long long)(*(const int64_t *)p >> 20)); break;
    case CFG_T_BOOL: fprintf(out, " %s\n", *(const bool *)p ? "true" : "false"); break;
    case CFG_T_DOUBLE:
      cfg_format_double(*(const double *)p, buf, sizeof buf);
      fprintf(out, " %s\n", buf);
      break;
    case CFG_T_DURATION:
      cfg_format_duration(*(const int64_t *)p, buf, sizeof buf);
      fprintf(out, " %s\n", buf);
      break;
    case CFG_T_ENUM:
      fputc(' ', out);
      cfg_emit_scalar(out, f->enums[*(const int *)p]);
      fputc('\n', out);
      break;
    case CFG_T_STRING_LIST: {
      const cfg_strlist *l = p;
      if (!open_collection(out, l->n, " []\n")) break;
      for (size_t i = 0; i < l->n; i++) {
        pad(out, indent + 2);
        fputs("- ", out);
        emit_value_line(out, l->v[i], secret);
      }
      break;
    }
    case CFG_T_STRING_MAP: {
      const cfg_strmap *m = p;
      if (!open_collection(out, m->n, " {}\n")) break;
      for (size_t i = 0; i < m->n; i++) {
        pad(out, indent + 2);
        cfg_emit_scalar(out, m->v[i].key);
        fputs(": ", out);
        emit_value_line(out, m->v[i].value, secret);
      }
      break;
    }
    case CFG_T_SECTION: {
      const void *sub = (f->flags & CFG_OPTIONAL) ? *(void *const *)p : p;
      /* An empty section prints as {} so that presence (e.g. `grpc:`) survives a round trip. */
      if (!emits_anything(f->sub, sub)) {
        fputs(" {}\n", out);
        break;
      }
      fputc('\n', out);
      cfg_emit(out, f->sub, sub, indent + 2);
      break;
    }
    case CFG_T_SECTION_LIST: {
      const cfg_list *l = p;
      if (!l->n) {
        fputs(" []\n", out);
        break;
      }
      fputc('\n', out);
      for (size_t i = 0; i < l->n; i++) {
        pad(out, indent + 2);
        fputs("-\n", out);
        cfg_emit(out, f->sub, (const char *)l->v + i * f->sub->size, indent + 4);
      }
      break;
    }
    case CFG_T_VALUE: {
      const cfg_value *v = p;
      fputc(' ', out);
      if (secret) fputs(REDACTED, out);
      else if (v->kind == CFG_VALUE_STRING) cfg_emit_scalar(out, v->str);
      else fputs(v->str, out);
      fputc('\n', out);
      break;
    }
    case CFG_T_RAW: {
      const cfg_node *n = *(const cfg_node *const *)p;
      emit_node_value(out, n, indent + 2, secret);
      break;
    }
    }
  }
}
