/* double_bits.h — a double's bit pattern and back: cells keep doubles as uint64_t (atomic adds use CAS on the
 * bits), and collection reads them back. memcpy is the defined way to do this; compilers turn it into a move. */
#ifndef OTELC_SDK_DOUBLE_BITS_H
#define OTELC_SDK_DOUBLE_BITS_H

#include <stdint.h>
#include <string.h>

/* The bits of d. */
static inline uint64_t d2u(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}

/* The double whose bits are u. */
static inline double u2d(uint64_t u) {
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}

#endif
