// The checks of the guide's programs: each program runs the snippets that
// docs/guide.md shows and checks what the text says about them, exiting
// non-zero when a value differs.
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

namespace guide {

inline int& failures() {
  static int count = 0;
  return count;
}

// Records a failed claim; the program then exits with 1.
inline void check(bool ok, const std::string& claim) {
  if (!ok) {
    std::fprintf(stderr, "CHECK FAILED: %s\n", claim.c_str());
    ++failures();
  }
}

inline bool near(double a, double b, double tolerance = 1e-6) {
  return std::fabs(a - b) <= tolerance * (1.0 + std::fabs(b));
}

template <class T>
bool near(const std::vector<T>& a, const std::vector<double>& b, double tolerance = 1e-6) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!near(static_cast<double>(a[i]), b[i], tolerance)) return false;
  }
  return true;
}

// Runs `body` (the program's snippets and checks) and turns failed checks
// and exceptions into the exit status.
template <class Body>
int run(const char* program, Body body) {
  try {
    body();
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s: unexpected exception: %s\n", program, error.what());
    return 2;
  }
  if (failures() != 0) {
    std::fprintf(stderr, "%s: %d check(s) failed\n", program, failures());
    return EXIT_FAILURE;
  }
  std::printf("%s: every check passed\n", program);
  return EXIT_SUCCESS;
}

}  // namespace guide
