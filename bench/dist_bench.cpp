// Multi-process benchmarks, run under an MPI launcher (one thread per rank):
//
//   OMP_NUM_THREADS=1 mpirun -np 2 build-bench/bench/dist_bench allreduce
//   OMP_NUM_THREADS=1 mpirun -np N build-bench/bench/dist_bench step lenet|cifar [batch per rank] [bucket MB]
//
// `allreduce`: the median time of a float32 all-reduce by message size and
// its bus bandwidth, 2 (W - 1) / W x bytes / time (the figure nccl-tests
// reports: what each rank's link carries). `step`: the median data-parallel
// training step (SGD, synthetic data) at this world size, with the
// gradient all-reduce's own time and the part of it the step waited for
// (the rest overlapped the backward pass). Rank 0 prints one JSON line per
// result.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <redes.h>

namespace {

using namespace redes;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

void all_reduce_sizes() {
  const int world = dist::world_size();
  for (std::int64_t bytes = 4 << 10; bytes <= (std::int64_t{64} << 20); bytes *= 4) {
    Tensor buffer = ones({bytes / 4});
    const int repeats = bytes >= (16 << 20) ? 10 : 30;
    std::vector<double> times;
    for (int r = 0; r < repeats + 3; ++r) {
      dist::barrier();
      const auto start = Clock::now();
      dist::all_reduce(buffer);
      if (r >= 3) times.push_back(seconds_since(start));  // the first three warm up
    }
    const double t = median(times);
    const double bus = 2.0 * (world - 1) / world * static_cast<double>(bytes) / t;
    if (dist::is_main_process()) {
      std::printf("{\"bench\": \"all_reduce\", \"ranks\": %d, \"bytes\": %lld, \"median_us\": %.1f, "
                  "\"bus_GB_per_s\": %.3f}\n",
                  world, static_cast<long long>(bytes), 1e6 * t, bus / 1e9);
    }
  }
}

void training_steps(const std::string& model_name, std::int64_t batch, double bucket_megabytes) {
  manual_seed(1);
  const bool lenet = model_name == "lenet";
  REDES_CHECK(lenet || model_name == "cifar", "dist_bench step: expected lenet or cifar, got ", model_name);
  nn::Sequential model = lenet ? models::lenet5() : models::cifar_cnn();
  const Tensor inputs = lenet ? randn({batch, 1, 28, 28}) : randn({batch, 3, 32, 32});
  const Tensor labels = (rand({batch}) * (lenet ? 10.0 : 100.0)).to(kInt64);
  optim::SGD sgd(model.parameters(), {.lr = 0.01, .momentum = 0.9});
  dist::DataParallel replicas(model, {.bucket_bytes = static_cast<std::int64_t>(bucket_megabytes * (1 << 20))});
  std::vector<double> steps, collective, exposed;
  const int warm_up = 3, timed = lenet ? 30 : 10;
  for (int s = 0; s < warm_up + timed; ++s) {
    dist::barrier();
    const auto start = Clock::now();
    sgd.zero_grad();
    nn::cross_entropy(model(inputs), labels).backward();
    replicas.synchronize_gradients();
    sgd.step();
    if (s < warm_up) continue;
    steps.push_back(seconds_since(start));
    collective.push_back(replicas.last_sync().collective_seconds);
    exposed.push_back(replicas.last_sync().exposed_seconds);
  }
  if (dist::is_main_process()) {
    const double step = median(steps);
    std::printf("{\"bench\": \"data_parallel_step\", \"model\": \"%s\", \"ranks\": %d, \"batch_per_rank\": %lld, "
                "\"median_step_ms\": %.2f, \"samples_per_s\": %.1f, \"all_reduce_ms\": %.3f, \"waited_ms\": %.3f, "
                "\"buckets\": %lld, \"gradient_MB\": %.2f}\n",
                model_name.c_str(), dist::world_size(), static_cast<long long>(batch), 1e3 * step,
                static_cast<double>(batch * dist::world_size()) / step, 1e3 * median(collective), 1e3 * median(exposed),
                static_cast<long long>(replicas.last_sync().buckets),
                static_cast<double>(replicas.last_sync().bytes) / 1e6);
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    dist::init();
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "allreduce") {
      all_reduce_sizes();
    } else if (mode == "step" && argc > 2) {
      training_steps(argv[2], argc > 3 ? std::atoll(argv[3]) : (std::string(argv[2]) == "lenet" ? 64 : 128),
                     argc > 4 ? std::atof(argv[4]) : 25.0);
    } else {
      std::fprintf(stderr, "usage: dist_bench allreduce | step lenet|cifar [batch per rank] [bucket MB]\n");
      return 2;
    }
  } catch (const std::exception& error) {
    dist::abort_job(std::string("dist_bench: ") + error.what());
  }
  return 0;
}
