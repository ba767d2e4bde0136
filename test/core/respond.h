/* respond.h: the C core tests' servers write a copy of a string to a
 * stream and forget it (freed once written). */
#ifndef UVA_TEST_RESPOND_H
#define UVA_TEST_RESPOND_H

#include <stdlib.h>
#include <string.h>

#include <uv.h>

static void on_written(uv_write_t *w, int status) {
  (void) status;
  free(w->data);
  free(w);
}

static void respond(uv_stream_t *s, const char *text) {
  uv_write_t *w = malloc(sizeof(*w));
  size_t len = strlen(text);
  char *out = malloc(len);
  uv_buf_t b;
  memcpy(out, text, len);
  b = uv_buf_init(out, (unsigned) len);
  w->data = out;
  uv_write(w, s, &b, 1, on_written);
}

#endif /* UVA_TEST_RESPOND_H */
