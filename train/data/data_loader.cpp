#include "train/data/data_loader.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <numeric>
#include <utility>

#include "core/cuda_stream.h"
#include "kernels/philox.h"

namespace redes::data {

namespace {

// A batch ready for the caller and, when its copies to a CUDA device were
// queued without waiting, the event recorded after them.
struct PreparedBatch {
  Batch batch;
  std::optional<cuda::Event> copied;
};

}  // namespace

// Shared by an Epoch and its background thread; lives on the heap so moving
// the Epoch does not move it under the thread.
struct Epoch::State {
  std::shared_ptr<const Dataset> dataset;
  LoaderOptions options;
  std::uint64_t epoch = 0;
  std::vector<std::int64_t> order;
  std::int64_t batches = 0;

  std::mutex mutex;
  std::condition_variable ready;  // a batch was queued, or the thread finished
  std::condition_variable space;  // a batch was taken, or a stop was asked for
  std::deque<PreparedBatch> queue;
  bool stopping = false;
  bool finished = false;
  std::exception_ptr error;

  PreparedBatch make_batch(std::int64_t b) const {
    const std::int64_t size = options.batch_size;
    const auto first = order.begin() + b * size;
    const auto last = order.begin() + std::min<std::int64_t>((b + 1) * size, static_cast<std::int64_t>(order.size()));
    PreparedBatch prepared{Batch{{}, std::vector<std::int64_t>(first, last), epoch}, std::nullopt};
    Batch& batch = prepared.batch;
    batch.tensors = dataset->get(batch.indices);
    if (!options.device.is_cuda()) return prepared;
    if (!options.pin_memory) {
      for (Tensor& tensor : batch.tensors) tensor = tensor.to(options.device);
      return prepared;
    }
    // Queued on this thread's current stream, which need not be the caller's:
    // the event lets next() order the caller's stream after the copies. The
    // pinned staging memory is not reused before its copy has read it.
    for (Tensor& tensor : batch.tensors) tensor = tensor.pin_memory().to(options.device, /*non_blocking=*/true);
    prepared.copied.emplace(options.device.index);
    prepared.copied->record();
    return prepared;
  }

  void run() {
    try {
      for (std::int64_t b = 0; b < batches; ++b) {
        {
          std::lock_guard lock(mutex);
          if (stopping) return;
        }
        PreparedBatch batch = make_batch(b);
        std::unique_lock lock(mutex);
        space.wait(lock, [&] { return stopping || static_cast<std::int64_t>(queue.size()) < options.prefetch; });
        if (stopping) return;
        queue.push_back(std::move(batch));
        ready.notify_one();
      }
      std::lock_guard lock(mutex);
      finished = true;
    } catch (...) {
      std::lock_guard lock(mutex);
      error = std::current_exception();
      finished = true;
    }
    ready.notify_one();
  }
};

Epoch::Epoch(std::unique_ptr<State> state) : state_(std::move(state)) {
  worker_ = std::thread([state = state_.get()] { state->run(); });
}

Epoch::~Epoch() { stop(); }

Epoch::Epoch(Epoch&& other) noexcept = default;

Epoch& Epoch::operator=(Epoch&& other) noexcept {
  if (this != &other) {
    stop();
    state_ = std::move(other.state_);
    worker_ = std::move(other.worker_);
  }
  return *this;
}

void Epoch::stop() {
  if (!worker_.joinable()) return;
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
  }
  state_->space.notify_all();
  worker_.join();
}

std::optional<Batch> Epoch::next() {
  if (!state_) return std::nullopt;
  std::unique_lock lock(state_->mutex);
  state_->ready.wait(lock, [&] { return !state_->queue.empty() || state_->finished; });
  if (!state_->queue.empty()) {
    PreparedBatch prepared = std::move(state_->queue.front());
    state_->queue.pop_front();
    lock.unlock();
    state_->space.notify_one();
    if (prepared.copied) cuda::Stream::current(prepared.copied->device()).wait(*prepared.copied);
    return std::move(prepared.batch);
  }
  if (state_->error) {
    // Rethrown once; the epoch then reads as ended.
    std::exception_ptr error = std::exchange(state_->error, nullptr);
    std::rethrow_exception(error);
  }
  return std::nullopt;
}

Epoch::Iterator::Iterator(Epoch* epoch) : epoch_(epoch) {
  if (epoch_ != nullptr) current_ = epoch_->next();
}

Epoch::Iterator& Epoch::Iterator::operator++() {
  current_ = epoch_->next();
  return *this;
}

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, const LoaderOptions& options)
    : dataset_(std::move(dataset)), options_(options) {
  REDES_CHECK(dataset_ != nullptr, "DataLoader: the dataset is null");
  REDES_CHECK(options_.batch_size >= 1, "DataLoader: batch_size must be at least 1, got ", options_.batch_size);
  REDES_CHECK(options_.prefetch >= 1 && options_.prefetch <= 16, "DataLoader: prefetch must be in [1, 16], got ",
              options_.prefetch);
}

std::int64_t DataLoader::batches_per_epoch() const {
  const std::int64_t n = dataset_->size();
  // n / b, rounded up unless drop_last; written so a huge batch size cannot overflow.
  const std::int64_t whole = n / options_.batch_size;
  return options_.drop_last || n % options_.batch_size == 0 ? whole : whole + 1;
}

std::vector<std::int64_t> DataLoader::order(std::uint64_t epoch) const {
  const std::int64_t n = dataset_->size();
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  if (!options_.shuffle) return order;
  REDES_CHECK(n <= (std::int64_t{1} << 32), "DataLoader: shuffling supports up to 2^32 samples, got ", n);
  const std::uint64_t offset = epoch * philox::blocks_used(static_cast<std::uint64_t>(n), false);
  for (std::int64_t i = n - 1, k = 0; i > 0; --i, ++k) {
    // Lemire's multiply-shift maps a 32-bit draw onto [0, i]; its bias,
    // at most (i + 1) / 2^32, is far below what a shuffle can show.
    const std::uint64_t draw = philox::bits(options_.seed, offset, static_cast<std::uint64_t>(k));
    const auto j = static_cast<std::int64_t>((draw * static_cast<std::uint64_t>(i + 1)) >> 32);
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
  }
  return order;
}

Epoch DataLoader::epoch(std::uint64_t epoch) const {
  auto state = std::make_unique<Epoch::State>();
  state->dataset = dataset_;
  state->options = options_;
  state->epoch = epoch;
  state->order = order(epoch);
  state->batches = batches_per_epoch();
  return Epoch(std::move(state));
}

}  // namespace redes::data
