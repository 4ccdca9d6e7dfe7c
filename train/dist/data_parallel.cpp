#include "train/dist/data_parallel.h"

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "train/dist/dist.h"
#include "train/dist/nccl.h"

namespace redes::dist {

namespace {

// One all-reduce's worth of gradients: parameters of one dtype and device,
// laid out one after another in a flat buffer kept across steps.
struct Bucket {
  std::vector<std::size_t> members;   // indices into State::parameters
  std::vector<std::int64_t> offsets;  // of each member in `flat`
  Tensor flat;
  std::int64_t waiting = 0;           // members whose gradient has not arrived this step
  Work work;
};

// A signature of the parameters, compared across ranks: count, elements and
// a hash of every shape and dtype.
Tensor parameter_signature(const std::vector<Tensor>& parameters) {
  std::uint64_t hash = 1469598103934665603ULL;  // FNV-1a over the sizes and dtypes
  const auto mix = [&](std::uint64_t value) {
    hash ^= value;
    hash *= 1099511628211ULL;
  };
  std::int64_t elements = 0;
  for (const Tensor& parameter : parameters) {
    mix(static_cast<std::uint64_t>(parameter.dtype()));
    mix(static_cast<std::uint64_t>(parameter.dim()));
    for (const std::int64_t size : parameter.shape()) mix(static_cast<std::uint64_t>(size));
    elements += parameter.numel();
  }
  Tensor signature = zeros({3}, TensorOptions{.dtype = kInt64});
  auto* values = signature.data<std::int64_t>();
  values[0] = static_cast<std::int64_t>(parameters.size());
  values[1] = elements;
  values[2] = static_cast<std::int64_t>(hash);
  return signature;
}

}  // namespace

struct DataParallel::State {
  std::vector<Tensor> parameters;      // those that require grad, in registration order
  std::vector<std::size_t> bucket_of;  // per parameter
  std::vector<std::uint64_t> hooks;    // per parameter: its post-accumulate hook
  std::vector<bool> arrived;           // per parameter, this step
  std::vector<Bucket> buckets;         // in launch order: the last parameters first
  std::size_t next_launch = 0;
  GradientSyncStats stats;

  void arrive(std::size_t index) {
    REDES_CHECK(!arrived[index], "DataParallel: a second backward pass reached a parameter before "
                "synchronize_gradients(); call it after every backward pass");
    arrived[index] = true;
    Bucket& bucket = buckets[bucket_of[index]];
    --bucket.waiting;
    // Buckets start in one order on every rank, whatever order backward
    // completes them in: collectives must match across ranks.
    while (next_launch < buckets.size() && buckets[next_launch].waiting == 0) launch(buckets[next_launch++]);
  }

  void launch(Bucket& bucket) {
    NoGradGuard no_grad;
    for (std::size_t m = 0; m < bucket.members.size(); ++m) {
      const Tensor& parameter = parameters[bucket.members[m]];
      Tensor slot = bucket.flat.narrow(0, bucket.offsets[m], parameter.numel());
      const Tensor grad = parameter.grad();
      if (grad.defined()) {
        slot.copy_(grad.reshape({parameter.numel()}));
      } else {
        slot.zero_();
      }
    }
    if (bucket.flat.device().is_cuda() && detail::nccl_built()) {
      all_reduce(bucket.flat, ReduceOp::Average);  // queued on the device's stream
    } else {
      bucket.work = all_reduce_async(bucket.flat, ReduceOp::Average);
    }
  }
};

DataParallel::DataParallel(nn::Module& model, const DataParallelOptions& options)
    : model_(model), state_(std::make_unique<State>()) {
  REDES_CHECK(options.bucket_bytes > 0, "DataParallel: bucket_bytes must be positive, got ", options.bucket_bytes);
  init();
  for (const Tensor& parameter : model.parameters()) {
    if (parameter.requires_grad()) state_->parameters.push_back(parameter);
  }
  const Tensor signatures = all_gather(parameter_signature(state_->parameters));
  const auto* values = signatures.data<std::int64_t>();
  for (int r = 1; r < world_size(); ++r) {
    const std::int64_t* theirs = values + 3 * r;
    if (theirs[0] == values[0] && theirs[1] == values[1] && theirs[2] == values[2]) continue;
    ::redes::detail::fail("DataParallel: every rank must build the same model; rank 0 has ", values[0],
                          " parameters (", values[1], " elements), rank ", r, " has ", theirs[0], " (", theirs[1],
                          " elements)", theirs[0] == values[0] && theirs[1] == values[1]
                                            ? " of other shapes or dtypes" : "");
  }
  // Buckets from the last parameter back: backward produces gradients in
  // roughly reverse order of registration.
  State& state = *state_;
  const std::size_t count = state.parameters.size();
  state.bucket_of.assign(count, 0);
  state.arrived.assign(count, false);
  std::int64_t bucket_bytes = 0;
  for (std::size_t k = count; k-- > 0;) {
    const Tensor& parameter = state.parameters[k];
    const std::int64_t bytes = parameter.numel() * static_cast<std::int64_t>(dtype_size(parameter.dtype()));
    const bool fits = !state.buckets.empty() && bucket_bytes + bytes <= options.bucket_bytes;
    const bool same_kind = !state.buckets.empty() &&
                           state.parameters[state.buckets.back().members.front()].dtype() == parameter.dtype() &&
                           state.parameters[state.buckets.back().members.front()].device() == parameter.device();
    if (!fits || !same_kind) {
      state.buckets.emplace_back();
      bucket_bytes = 0;
    }
    Bucket& bucket = state.buckets.back();
    bucket.offsets.push_back(bucket.members.empty() ? 0 : bucket.offsets.back() +
                                                              state.parameters[bucket.members.back()].numel());
    bucket.members.push_back(k);
    state.bucket_of[k] = state.buckets.size() - 1;
    bucket_bytes += bytes;
  }
  for (Bucket& bucket : state.buckets) {
    const Tensor& first = state.parameters[bucket.members.front()];
    const std::int64_t elements = bucket.offsets.back() + state.parameters[bucket.members.back()].numel();
    bucket.flat = zeros({elements}, TensorOptions{.dtype = first.dtype(), .device = first.device()});
    bucket.waiting = static_cast<std::int64_t>(bucket.members.size());
  }
  if (options.broadcast_parameters) broadcast_parameters();
  state.hooks.reserve(count);
  for (std::size_t k = 0; k < count; ++k) {
    State* shared = state_.get();
    state.hooks.push_back(state.parameters[k].register_post_accumulate_grad_hook(
        [shared, k](const Tensor&) { shared->arrive(k); }));
  }
}

DataParallel::~DataParallel() {
  for (std::size_t k = 0; k < state_->hooks.size(); ++k) {
    state_->parameters[k].remove_post_accumulate_grad_hook(state_->hooks[k]);
  }
}

void DataParallel::broadcast_parameters() {
  NoGradGuard no_grad;
  // Parameters and buffers, as handles sharing their storage.
  for (auto& entry : model_.state_dict()) broadcast(entry.second, 0);
}

void DataParallel::synchronize_gradients() {
  State& state = *state_;
  const auto start = std::chrono::steady_clock::now();
  // Parameters that got no gradient this step: their buckets start now.
  while (state.next_launch < state.buckets.size()) state.launch(state.buckets[state.next_launch++]);
  GradientSyncStats stats;
  NoGradGuard no_grad;
  for (Bucket& bucket : state.buckets) {
    bucket.work.wait();
    stats.collective_seconds += bucket.work.seconds();
    stats.bytes += bucket.flat.numel() * static_cast<std::int64_t>(dtype_size(bucket.flat.dtype()));
    for (std::size_t m = 0; m < bucket.members.size(); ++m) {
      Tensor parameter = state.parameters[bucket.members[m]];
      const Tensor average =
          bucket.flat.narrow(0, bucket.offsets[m], parameter.numel()).reshape(parameter.shape());
      Tensor grad = parameter.grad();
      if (grad.defined()) {
        grad.copy_(average);
      } else {
        parameter.set_grad(average.clone());
      }
    }
    bucket.work = Work();
    bucket.waiting = static_cast<std::int64_t>(bucket.members.size());
  }
  stats.buckets = static_cast<std::int64_t>(state.buckets.size());
  stats.exposed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  state.stats = stats;
  state.arrived.assign(state.arrived.size(), false);
  state.next_launch = 0;
}

std::int64_t DataParallel::bucket_count() const { return static_cast<std::int64_t>(state_->buckets.size()); }
const GradientSyncStats& DataParallel::last_sync() const { return state_->stats; }

}  // namespace redes::dist
