// One rank of the multi-process tests (failure_test.sh, netns_test.sh start
// it under mpirun). Not a gtest program: what is tested is how the whole job
// ends, which only the launcher's exit status and timing show.
//
//   dist_worker allreduce   collectives give the values expected from rank and world
//   dist_worker die         rank 1 is killed mid-loop; the launcher must end the job
//   dist_worker diverge     rank 1 skips a barrier; rank 0's watchdog must end the job
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "redes.h"

namespace dist = redes::dist;
using redes::Tensor;

namespace {

int failures = 0;

void report(const std::string& what, std::int64_t index, double got, double want) {
  std::printf("rank %d of %d: %s: element %lld is %.17g, expected %.17g\n", dist::rank(), dist::world_size(),
              what.c_str(), static_cast<long long>(index), got, want);
  ++failures;
}

// Float values that sum exactly across any small world: small integers.
Tensor float_input(std::int64_t n, int rank) {
  std::vector<float> values(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) values[static_cast<std::size_t>(i)] = static_cast<float>(rank + 1 + i % 7);
  return redes::from_vector(values, {n});
}

void check_float_sum(std::int64_t n) {
  const int world = dist::world_size();
  Tensor t = float_input(n, dist::rank());
  dist::all_reduce(t, dist::ReduceOp::Sum);
  const float* got = t.data<float>();
  for (std::int64_t i = 0; i < n; ++i) {
    const double want = world * (world + 1) / 2.0 + world * static_cast<double>(i % 7);
    if (static_cast<double>(got[i]) != want) {
      report("all_reduce sum of " + std::to_string(n) + " float32", i, static_cast<double>(got[i]), want);
      return;  // one line per collective is enough to see what went wrong
    }
  }
}

void check_float_average_and_max() {
  const int world = dist::world_size();
  Tensor avg = float_input(1000, dist::rank());
  dist::all_reduce(avg, dist::ReduceOp::Average);
  Tensor max = float_input(1000, dist::rank());
  dist::all_reduce(max, dist::ReduceOp::Max);
  for (std::int64_t i = 0; i < 1000; ++i) {
    // The average multiplies by 1/world, so allow a rounding step.
    const double want_avg = (world + 1) / 2.0 + static_cast<double>(i % 7);
    const double got_avg = static_cast<double>(avg.data<float>()[i]);
    if (got_avg < want_avg - 1e-5 || got_avg > want_avg + 1e-5) {
      report("all_reduce average of 1000 float32", i, got_avg, want_avg);
      break;
    }
  }
  for (std::int64_t i = 0; i < 1000; ++i) {
    const double want_max = world + static_cast<double>(i % 7);
    if (static_cast<double>(max.data<float>()[i]) != want_max) {
      report("all_reduce max of 1000 float32", i, static_cast<double>(max.data<float>()[i]), want_max);
      break;
    }
  }
}

// Values above 2^32, so that a reduction in 32 bits would show.
void check_int64_sum() {
  constexpr std::int64_t kHigh = std::int64_t{1} << 40;
  constexpr std::int64_t n = 4099;
  const int world = dist::world_size();
  std::vector<std::int64_t> values(n);
  for (std::int64_t i = 0; i < n; ++i) values[static_cast<std::size_t>(i)] = dist::rank() * kHigh + i;
  Tensor t = redes::from_vector(values, {n});
  dist::all_reduce(t, dist::ReduceOp::Sum);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t want = kHigh * (world * (world - 1) / 2) + world * i;
    const std::int64_t got = t.data<std::int64_t>()[i];
    if (got != want) {
      report("all_reduce sum of int64", i, static_cast<double>(got), static_cast<double>(want));
      return;
    }
  }
}

// From the last rank, so that a broadcast that ignores its root shows.
void check_broadcast() {
  const int root = dist::world_size() - 1;
  std::vector<float> values(777);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(dist::rank() * 1000 + static_cast<int>(i));
  Tensor t = redes::from_vector(values, {777});
  dist::broadcast(t, root);
  for (std::int64_t i = 0; i < 777; ++i) {
    const double want = root * 1000.0 + static_cast<double>(i);
    if (static_cast<double>(t.data<float>()[i]) != want) {
      report("broadcast from rank " + std::to_string(root), i, static_cast<double>(t.data<float>()[i]), want);
      return;
    }
  }
}

void check_all_gather() {
  const int world = dist::world_size();
  const int r = dist::rank();
  Tensor mine = redes::from_vector(std::vector<float>{static_cast<float>(r), 2.0f * static_cast<float>(r), 3.0f * static_cast<float>(r)}, {3});
  Tensor all = dist::all_gather(mine);
  if (all.dim() != 2 || all.size(0) != world || all.size(1) != 3) {
    std::printf("rank %d of %d: all_gather gave shape %s, expected (%d, 3)\n", r, world,
                redes::shape_str(all.shape()).c_str(), world);
    ++failures;
    return;
  }
  const float* got = all.contiguous().data<float>();
  for (std::int64_t i = 0; i < world * 3; ++i) {
    const double want = static_cast<double>(i / 3) * static_cast<double>(i % 3 + 1);
    if (static_cast<double>(got[i]) != want) {
      report("all_gather", i, static_cast<double>(got[i]), want);
      return;
    }
  }
}

int run_allreduce() {
  for (const std::int64_t n : {std::int64_t{1}, std::int64_t{1000}, std::int64_t{1000003}}) check_float_sum(n);
  check_float_average_and_max();
  check_int64_sum();
  check_broadcast();
  check_all_gather();
  dist::barrier();
  if (failures > 0) return 1;
  // The local rank tells whether the launcher saw one host or several.
  std::printf("rank %d of %d: ok (local rank %d)\n", dist::rank(), dist::world_size(), dist::local_rank());
  return 0;
}

// Rank 1 dies without a word, as an OOM kill would do it. Rank 0 is then
// stuck in an all-reduce that cannot complete; the launcher, seeing a rank
// gone, must end the job. The loop would take about 2 s on its own.
int run_die() {
  Tensor t = redes::ones({1000});
  for (int i = 0; i < 200; ++i) {
    if (dist::rank() == 1 && i == 5) std::raise(SIGKILL);
    dist::all_reduce(t, dist::ReduceOp::Average);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // The test fails when this line appears: the job outlived its dead rank.
  std::printf("rank %d of %d: loop finished\n", dist::rank(), dist::world_size());
  return 0;
}

// Rank 1 takes another path: it skips a barrier and idles. Rank 0 waits in
// that barrier until its watchdog (REDES_DIST_TIMEOUT) ends the job.
int run_diverge() {
  dist::barrier();  // both ranks are up
  if (dist::rank() == 1) {
    std::this_thread::sleep_for(std::chrono::seconds(60));
    return 0;
  }
  dist::barrier();
  std::printf("rank %d of %d: barrier passed without its peer\n", dist::rank(), dist::world_size());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  try {
    dist::init();
    std::fflush(stdout);
    if (mode == "allreduce") return run_allreduce();
    if (mode == "die") return run_die();
    if (mode == "diverge") return run_diverge();
  } catch (const std::exception& e) {
    std::printf("rank %d: %s failed: %s\n", dist::is_initialized() ? dist::rank() : -1, mode.c_str(), e.what());
    return 1;
  }
  std::fprintf(stderr, "usage: dist_worker allreduce|die|diverge\n");
  return 2;
}
