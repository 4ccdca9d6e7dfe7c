#include "train/data/data_loader.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <limits>
#include <map>
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

// Shared by an Epoch and its workers; lives on the heap so moving the Epoch
// does not move it under the threads.
//
// Workers claim batch numbers in order (`claimed`), build them without the
// lock and file them under their number in `done`; next() hands out batch
// `taken` once it is there. A batch is claimed only while fewer than
// prefetch + num_workers batches are claimed and not yet taken, which bounds
// the memory held. The first batch whose preparation throws (`failed_at`)
// ends the claiming: the batches before it are still delivered, then its
// exception.
struct Epoch::State {
  std::shared_ptr<const Dataset> dataset;
  LoaderOptions options;
  std::uint64_t epoch = 0;
  std::vector<std::int64_t> order;
  std::int64_t batches = 0;

  std::mutex mutex;
  std::condition_variable ready;  // a batch was filed or failed
  std::condition_variable space;  // a batch was taken, or a stop was asked for
  std::map<std::int64_t, PreparedBatch> done;
  std::int64_t claimed = 0;
  std::int64_t taken = 0;
  std::int64_t failed_at = std::numeric_limits<std::int64_t>::max();
  std::exception_ptr error;  // of batch failed_at
  bool stopping = false;

  PreparedBatch make_batch(std::int64_t b) const {
    const std::int64_t size = options.batch_size;
    const auto first = order.begin() + b * size;
    const auto last = order.begin() + std::min<std::int64_t>((b + 1) * size, static_cast<std::int64_t>(order.size()));
    PreparedBatch prepared{Batch{{}, std::vector<std::int64_t>(first, last), epoch}, std::nullopt};
    Batch& batch = prepared.batch;
    batch.tensors = dataset->get(batch.indices);
    check_batch_size(batch, b);
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

  // A data set that returns the wrong number of rows would otherwise surface
  // much later as a shape error in the model, or as silently misaligned
  // features and labels.
  void check_batch_size(const Batch& batch, std::int64_t b) const {
    const auto expected = static_cast<std::int64_t>(batch.indices.size());
    REDES_CHECK(!batch.tensors.empty(), "DataLoader: Dataset::get returned no tensors for batch ", b, " of epoch ",
                epoch, " (", expected, " samples); expected at least one tensor with the batch as dim 0");
    for (std::size_t t = 0; t < batch.tensors.size(); ++t) {
      const Tensor& tensor = batch.tensors[t];
      REDES_CHECK(tensor.defined() && tensor.dim() >= 1 && tensor.size(0) == expected, "DataLoader: dataset tensor ",
                  t, " of batch ", b, " of epoch ", epoch, " has shape ",
                  tensor.defined() ? shape_str(tensor.shape()) : std::string("(undefined)"),
                  ", expected the batch size ", expected, " as dim 0");
    }
  }

  // num_workers == 0: batch `taken`, built now on the caller's thread. A
  // batch that throws ends the epoch, as it does with workers.
  std::optional<Batch> next_in_place() {
    if (taken >= batches) return std::nullopt;
    const std::int64_t b = taken;
    taken = batches;
    PreparedBatch prepared = make_batch(b);
    taken = b + 1;
    if (prepared.copied) cuda::Stream::current(prepared.copied->device()).wait(*prepared.copied);
    return std::move(prepared.batch);
  }

  bool may_claim() const {
    return claimed < taken + options.prefetch + options.num_workers;
  }

  void work() {
    std::unique_lock lock(mutex);
    for (;;) {
      space.wait(lock, [&] { return stopping || claimed >= std::min(batches, failed_at) || may_claim(); });
      if (stopping || claimed >= std::min(batches, failed_at)) return;
      const std::int64_t b = claimed++;
      lock.unlock();
      std::optional<PreparedBatch> prepared;
      std::exception_ptr caught;
      try {
        prepared.emplace(make_batch(b));
      } catch (...) {
        caught = std::current_exception();
      }
      lock.lock();
      if (caught) {
        // A later batch may have failed first; the caller meets the earliest.
        if (b < failed_at) {
          failed_at = b;
          error = caught;
        }
        space.notify_all();  // idle workers see that claiming is over
      } else {
        done.emplace(b, std::move(*prepared));
      }
      ready.notify_all();
    }
  }
};

Epoch::Epoch(std::unique_ptr<State> state) : state_(std::move(state)) {
  const std::int64_t count = std::min(state_->options.num_workers, state_->batches);
  try {
    for (std::int64_t w = 0; w < count; ++w) workers_.emplace_back([state = state_.get()] { state->work(); });
  } catch (...) {
    stop();  // the destructor does not run when the constructor throws
    throw;
  }
}

Epoch::~Epoch() { stop(); }

Epoch::Epoch(Epoch&& other) noexcept = default;

Epoch& Epoch::operator=(Epoch&& other) noexcept {
  if (this != &other) {
    stop();
    state_ = std::move(other.state_);
    workers_ = std::move(other.workers_);
  }
  return *this;
}

void Epoch::stop() {
  if (workers_.empty()) return;
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
  }
  state_->space.notify_all();
  for (std::thread& worker : workers_) worker.join();
  workers_.clear();
}

std::optional<Batch> Epoch::next() {
  if (!state_) return std::nullopt;
  State& state = *state_;
  if (state.options.num_workers == 0) return state.next_in_place();
  std::unique_lock lock(state.mutex);
  const std::int64_t b = state.taken;
  if (b >= state.batches) return std::nullopt;
  // Batch b is claimed (fewer than prefetch + num_workers are outstanding)
  // and ends filed or failed, so this wait ends.
  state.ready.wait(lock, [&] { return state.done.count(b) > 0 || state.failed_at == b; });
  const auto found = state.done.find(b);
  if (found == state.done.end()) {
    // Rethrown once; the epoch then reads as ended, and later batches
    // already built are dropped.
    state.taken = state.batches;
    std::exception_ptr error = std::exchange(state.error, nullptr);
    std::map<std::int64_t, PreparedBatch> dropped = std::move(state.done);
    state.done.clear();
    lock.unlock();
    dropped.clear();
    std::rethrow_exception(error);
  }
  PreparedBatch prepared = std::move(found->second);
  state.done.erase(found);
  ++state.taken;
  lock.unlock();
  state.space.notify_all();
  if (prepared.copied) cuda::Stream::current(prepared.copied->device()).wait(*prepared.copied);
  return std::move(prepared.batch);
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
  REDES_CHECK(options_.num_workers >= 0 && options_.num_workers <= 64,
              "DataLoader: num_workers must be in [0, 64] (0 = batches built by the caller, 1 = one background "
              "thread), got ", options_.num_workers);
  REDES_CHECK(options_.shard_count >= 1 && options_.shard_rank >= 0 && options_.shard_rank < options_.shard_count,
              "DataLoader: expected shard_count >= 1 and shard_rank in [0, shard_count), got shard ",
              options_.shard_rank, " of ", options_.shard_count);
}

namespace {

// Samples of one shard of n (n itself when unsharded).
std::int64_t shard_size(std::int64_t n, std::int64_t shards) { return n == 0 ? 0 : (n + shards - 1) / shards; }

}  // namespace

std::int64_t DataLoader::batches_per_epoch() const { return batches_of(shard_size(dataset_->size(), options_.shard_count)); }

std::int64_t DataLoader::batches_of(std::int64_t samples) const {
  // samples / b, rounded up unless drop_last; written so a huge batch size cannot overflow.
  const std::int64_t whole = samples / options_.batch_size;
  return options_.drop_last || samples % options_.batch_size == 0 ? whole : whole + 1;
}

std::vector<std::int64_t> DataLoader::shard_order(std::uint64_t epoch, std::int64_t first_sample) const {
  std::vector<std::int64_t> all = order(epoch);
  REDES_CHECK(first_sample >= 0 && first_sample <= static_cast<std::int64_t>(all.size()),
              "DataLoader: first_sample must be in [0, ", all.size(), "], got ", first_sample);
  all.erase(all.begin(), all.begin() + first_sample);
  const auto shards = static_cast<std::size_t>(options_.shard_count);
  if (shards == 1 || all.empty()) return all;
  const std::size_t remaining = all.size();
  const std::size_t padded = (remaining + shards - 1) / shards * shards;
  for (std::size_t i = remaining; i < padded; ++i) all.push_back(all[i % remaining]);
  std::vector<std::int64_t> mine;
  mine.reserve(padded / shards);
  for (std::size_t i = static_cast<std::size_t>(options_.shard_rank); i < padded; i += shards) mine.push_back(all[i]);
  return mine;
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

Epoch DataLoader::epoch(std::uint64_t epoch) const { return this->epoch(epoch, 0); }

Epoch DataLoader::epoch(std::uint64_t epoch, std::int64_t first_sample) const {
  auto state = std::make_unique<Epoch::State>();
  state->dataset = dataset_;
  state->options = options_;
  state->epoch = epoch;
  state->order = shard_order(epoch, first_sample);
  state->batches = batches_of(static_cast<std::int64_t>(state->order.size()));
  return Epoch(std::move(state));
}

}  // namespace redes::data
