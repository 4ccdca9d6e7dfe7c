#include "core/threading.h"

#include <omp.h>

#include <atomic>
#include <charconv>
#include <cstdlib>

#include "core/error.h"

namespace redes {
namespace {

// More threads than any machine redes targets has cores: a larger value is a
// typo, and would make OpenMP start that many threads.
constexpr int kMaxThreads = 1024;

// 0 until the first get_num_threads or set_num_threads.
std::atomic<int> thread_count{0};

int default_thread_count() {
  if (const char* value = std::getenv("REDES_NUM_THREADS")) return detail::parse_num_threads(value);
  return omp_get_max_threads();
}

}  // namespace

int detail::parse_num_threads(std::string_view value) {
  int threads = 0;
  const char* end = value.data() + value.size();
  const auto [stop, error] = std::from_chars(value.data(), end, threads);
  REDES_CHECK(error == std::errc() && stop == end && threads >= 1 && threads <= kMaxThreads,
              "REDES_NUM_THREADS: expected a whole number of threads from 1 to ", kMaxThreads, ", got '", value, "'");
  return threads;
}

void set_num_threads(int threads) {
  REDES_CHECK(threads >= 1 && threads <= kMaxThreads, "set_num_threads: expected 1 to ", kMaxThreads,
              " threads, got ", threads);
  thread_count.store(threads, std::memory_order_relaxed);
  omp_set_num_threads(threads);
}

int get_num_threads() {
  const int threads = thread_count.load(std::memory_order_relaxed);
  if (threads != 0) return threads;
  // First use: the environment decides, unless a set_num_threads on another
  // thread got there first.
  int expected = 0;
  const int chosen = default_thread_count();
  if (!thread_count.compare_exchange_strong(expected, chosen, std::memory_order_relaxed)) return expected;
  omp_set_num_threads(chosen);
  return chosen;
}

}  // namespace redes
