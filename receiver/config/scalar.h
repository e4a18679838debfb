/* scalar.h — typed values out of configuration text, parsed the way the Collector (Go) parses them.
 *
 * Durations follow Go's time.ParseDuration ("300ms", "1.5h", "1m30s", units ns us µs ms s m h; a bare "0" is
 * zero); integers accept decimal, 0x hex, 0o octal and '_' separators as yaml.v3 does; booleans are true/false
 * (also yes/no/on/off, any case). All parsers take the whole string and return false on any trailing garbage or
 * overflow. Formatters produce text the parsers read back (used by --print-config). */
#ifndef OTELC_RECEIVER_CONFIG_SCALAR_H
#define OTELC_RECEIVER_CONFIG_SCALAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

bool cfg_parse_int(const char *s, int64_t *out);
bool cfg_parse_double(const char *s, double *out);
bool cfg_parse_bool(const char *s, bool *out);
/* Go duration syntax; result in nanoseconds. */
bool cfg_parse_duration(const char *s, int64_t *ns);

/* Go's Duration.String(): "1h2m3.5s", "200ms", "0s". `buf` of at least 32 bytes. */
void cfg_format_duration(int64_t ns, char *buf, size_t size);
/* Shortest text that reads back to the same double ("0.5", "1.5", "100"). */
void cfg_format_double(double v, char *buf, size_t size);

#endif
