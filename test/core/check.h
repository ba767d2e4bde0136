/* check.h: the C core tests' one assertion, which counts and goes on. */
#ifndef UVA_TEST_CHECK_H
#define UVA_TEST_CHECK_H

#include <stdio.h>

static int failures;
static int checks;

#define CHECK(cond)                                                    \
  do {                                                                 \
    checks++;                                                          \
    if (!(cond)) {                                                     \
      failures++;                                                      \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
              #cond);                                                  \
    }                                                                  \
  } while (0)

#endif /* UVA_TEST_CHECK_H */
