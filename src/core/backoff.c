/* backoff.c: how long to wait before a retry. */
#include <math.h>

#include "uva.h"

double uva_backoff_wait(const uva_backoff_t *b, uint32_t attempt, double rnd) {
  double d;

  switch (b->kind) {
  case UVA_BACKOFF_LINEAR:
    d = b->delay * attempt;
    break;
  case UVA_BACKOFF_EXPONENTIAL:
    d = b->delay * pow(b->factor, (double) attempt - 1);
    break;
  case UVA_BACKOFF_FIXED:
  default:
    d = b->delay;
    break;
  }
  if (!(d <= b->max_delay))
    d = b->max_delay;
  if (b->jitter > 0)
    d -= d * b->jitter * rnd;
  if (!(d >= 0) || isnan(d))
    d = 0;
  return d;
}
