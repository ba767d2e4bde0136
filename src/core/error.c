/* error.c: names and texts for the core's error codes. */
#include "uva.h"

const char *uva_err_name(int err) {
  switch (err) {
  case UVA_EBADSTATE:
    return "UVA_EBADSTATE";
  case UVA_ETOOMANY:
    return "UVA_ETOOMANY";
  default:
    return uv_err_name(err);
  }
}

const char *uva_strerror(int err) {
  switch (err) {
  case UVA_EBADSTATE:
    return "handle is closing";
  case UVA_ETOOMANY:
    return "too many pending timers";
  default:
    return uv_strerror(err);
  }
}
