// TensorDataset and DataLoader: batching, coverage, drop_last, the seeded
// Philox shuffle, the background thread's bound, shutdown and errors.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <numeric>
#include <set>
#include <thread>

#include "data/fixtures.h"
#include "kernels/philox.h"
#include "support/test_support.h"

namespace redes::testing {
namespace {

using data::Batch;
using data::DataLoader;
using data::LoaderOptions;

// Sample i has features (i, 10 i) and label i.
std::shared_ptr<data::TensorDataset> numbered(std::int64_t n) {
  std::vector<float> features;
  std::vector<std::int64_t> labels;
  for (std::int64_t i = 0; i < n; ++i) {
    features.push_back(static_cast<float>(i));
    features.push_back(static_cast<float>(10 * i));
    labels.push_back(i);
  }
  return std::make_shared<data::TensorDataset>(
      std::vector<Tensor>{from_vector(features, {n, 2}), from_vector(labels, {n}, {kInt64})});
}

std::vector<std::vector<std::int64_t>> epoch_indices(const DataLoader& loader, std::uint64_t epoch) {
  std::vector<std::vector<std::int64_t>> batches;
  for (Batch& batch : loader.epoch(epoch)) batches.push_back(batch.indices);
  return batches;
}

TEST(TensorDataset, GetsRowsInTheOrderAsked) {
  const auto d = numbered(6);
  const std::vector<Tensor> batch = d->get({4, 0, 4});
  EXPECT_EQ(batch[0].shape(), (Shape{3, 2}));
  EXPECT_TRUE(all_close(batch[0], {4, 40, 0, 0, 4, 40}, 0, 0));
  EXPECT_EQ(batch[1].to_vector<std::int64_t>(), (std::vector<std::int64_t>{4, 0, 4}));
  EXPECT_EQ(d->get({})[0].shape(), (Shape{0, 2}));
  EXPECT_THROW(d->get({6}), Error);
  EXPECT_THROW(d->get({-1}), Error);
  EXPECT_THROW(data::TensorDataset({zeros({3}), zeros({4})}), Error);
  EXPECT_THROW(data::TensorDataset({scalar_tensor(1)}), Error);
  EXPECT_THROW(data::TensorDataset(std::vector<Tensor>{}), Error);
}

TEST(DataLoader, CoversEverySampleOncePerEpochInBatches) {
  const auto d = numbered(10);
  DataLoader loader(d, {.batch_size = 3});
  EXPECT_EQ(loader.batches_per_epoch(), 4);
  std::vector<std::int64_t> seen;
  std::vector<std::int64_t> sizes;
  for (Batch& batch : loader.epoch(0)) {
    sizes.push_back(batch[0].size(0));
    EXPECT_EQ(batch[1].to_vector<std::int64_t>(), batch.indices);  // the rows are the indexed samples
    EXPECT_EQ(batch.epoch, 0u);
    seen.insert(seen.end(), batch.indices.begin(), batch.indices.end());
  }
  EXPECT_EQ(sizes, (std::vector<std::int64_t>{3, 3, 3, 1}));
  std::vector<std::int64_t> all(10);
  std::iota(all.begin(), all.end(), 0);
  EXPECT_EQ(seen, all);  // no shuffle: in order
}

TEST(DataLoader, DropLastSkipsTheShortBatch) {
  DataLoader loader(numbered(10), {.batch_size = 3, .shuffle = true, .seed = 5, .drop_last = true});
  EXPECT_EQ(loader.batches_per_epoch(), 3);
  std::set<std::int64_t> seen;
  std::int64_t batches = 0;
  for (Batch& batch : loader.epoch(2)) {
    EXPECT_EQ(batch.indices.size(), 3u);
    seen.insert(batch.indices.begin(), batch.indices.end());
    ++batches;
  }
  EXPECT_EQ(batches, 3);
  EXPECT_EQ(seen.size(), 9u);  // distinct samples; the one left out is the permutation's last
  const std::vector<std::int64_t> order = loader.order(2);
  EXPECT_EQ(seen.count(order.back()), 0u);
}

TEST(DataLoader, ShuffleIsAPermutationFixedBySeedAndEpoch) {
  const auto d = numbered(100);
  DataLoader a(d, {.batch_size = 16, .shuffle = true, .seed = 42});
  DataLoader b(d, {.batch_size = 16, .shuffle = true, .seed = 42});
  DataLoader other_seed(d, {.batch_size = 16, .shuffle = true, .seed = 43});
  EXPECT_EQ(epoch_indices(a, 3), epoch_indices(b, 3));
  EXPECT_NE(epoch_indices(a, 3), epoch_indices(a, 4));
  EXPECT_NE(a.order(0), other_seed.order(0));
  for (std::uint64_t epoch = 0; epoch < 5; ++epoch) {
    std::vector<std::int64_t> order = a.order(epoch);
    std::sort(order.begin(), order.end());
    std::vector<std::int64_t> all(100);
    std::iota(all.begin(), all.end(), 0);
    EXPECT_EQ(order, all) << "epoch " << epoch;
  }
  // Same batches too, not only the same indices.
  auto first = a.epoch(1).next();
  auto second = b.epoch(1).next();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(host_values((*first)[0]), host_values((*second)[0]));
}

TEST(DataLoader, ShuffleFollowsTheDocumentedPhiloxContract) {
  const std::int64_t n = 37;
  const std::uint64_t seed = 9, epoch = 6;
  DataLoader loader(numbered(n), {.batch_size = 4, .shuffle = true, .seed = seed});
  std::vector<std::int64_t> expected(n);
  std::iota(expected.begin(), expected.end(), 0);
  const std::uint64_t offset = epoch * ((n + 3) / 4);
  for (std::int64_t i = n - 1, k = 0; i > 0; --i, ++k) {
    const std::uint64_t draw = philox::bits(seed, offset, static_cast<std::uint64_t>(k));
    std::swap(expected[i], expected[static_cast<std::int64_t>((draw * static_cast<std::uint64_t>(i + 1)) >> 32)]);
  }
  EXPECT_EQ(loader.order(epoch), expected);
  DataLoader plain(numbered(n), {.batch_size = 4});
  std::vector<std::int64_t> identity(n);
  std::iota(identity.begin(), identity.end(), 0);
  EXPECT_EQ(plain.order(epoch), identity);
}

// A dataset that counts get() calls, optionally slowly, and can fail.
class Probe final : public data::Dataset {
 public:
  Probe(std::int64_t n, std::chrono::milliseconds delay, std::int64_t fail_at = -1)
      : n_(n), delay_(delay), fail_at_(fail_at) {}
  std::int64_t size() const override { return n_; }
  std::vector<Tensor> get(const std::vector<std::int64_t>& indices) const override {
    const std::int64_t call = calls_.fetch_add(1);
    std::this_thread::sleep_for(delay_);
    if (call == fail_at_) throw Error("probe: batch " + std::to_string(call) + " is unreadable");
    return {full({static_cast<std::int64_t>(indices.size())}, static_cast<double>(call))};
  }
  std::int64_t calls() const { return calls_.load(); }

 private:
  std::int64_t n_;
  std::chrono::milliseconds delay_;
  std::int64_t fail_at_;
  mutable std::atomic<std::int64_t> calls_{0};
};

TEST(DataLoader, BackgroundThreadStaysAtMostPrefetchBatchesAhead) {
  const auto probe = std::make_shared<Probe>(1000, std::chrono::milliseconds(0));
  DataLoader loader(probe, {.batch_size = 10, .prefetch = 2});
  data::Epoch epoch = loader.epoch(0);
  ASSERT_TRUE(epoch.next());
  // One taken, two queued, and one built and waiting for room: 4 calls, and
  // no more however long we wait.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (probe->calls() < 4 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(probe->calls(), 4);
}

TEST(DataLoader, DestroyingAnEpochMidwayStopsItsThread) {
  const auto probe = std::make_shared<Probe>(10000, std::chrono::milliseconds(2));
  DataLoader loader(probe, {.batch_size = 1, .prefetch = 1});
  {
    data::Epoch epoch = loader.epoch(0);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(epoch.next());
  }
  const std::int64_t after = probe->calls();
  EXPECT_LE(after, 6);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(probe->calls(), after);          // joined: nothing runs any more
  { data::Epoch unused = loader.epoch(1); }  // never read from
  // Moving an epoch keeps one thread; assigning over one stops the old thread.
  data::Epoch moved = loader.epoch(2);
  data::Epoch target = std::move(moved);
  EXPECT_FALSE(moved.next());
  target = loader.epoch(3);
  const std::optional<Batch> batch = target.next();
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->epoch, 3u);
}

TEST(DataLoader, WorkerExceptionsReachTheCallerAfterEarlierBatches) {
  const auto probe = std::make_shared<Probe>(10, std::chrono::milliseconds(0), 2);
  DataLoader loader(probe, {.batch_size = 2});
  data::Epoch epoch = loader.epoch(0);
  EXPECT_TRUE(epoch.next());
  EXPECT_TRUE(epoch.next());
  try {
    epoch.next();
    FAIL() << "the failing batch did not throw";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("batch 2 is unreadable"), std::string::npos) << error.what();
  }
  EXPECT_FALSE(epoch.next());
}

TEST(DataLoader, EmptyDatasetHasNoBatchesAndOptionsAreChecked) {
  const auto probe = std::make_shared<Probe>(0, std::chrono::milliseconds(0));
  DataLoader loader(probe, {.batch_size = 4, .shuffle = true});
  EXPECT_EQ(loader.batches_per_epoch(), 0);
  EXPECT_FALSE(loader.epoch(0).next());
  EXPECT_THROW(DataLoader(probe, {.batch_size = 0}), Error);
  EXPECT_THROW(DataLoader(probe, {.prefetch = 0}), Error);
  EXPECT_THROW(DataLoader(probe, {.prefetch = 17}), Error);
  EXPECT_THROW(DataLoader(nullptr), Error);
}

class DataLoaderDevices : public ::testing::TestWithParam<Device> {};

TEST_P(DataLoaderDevices, BatchesArriveOnTheTargetDevice) {
  REDES_REQUIRE_DEVICE(GetParam());
  DataLoader loader(numbered(7), {.batch_size = 4, .shuffle = true, .seed = 1, .device = GetParam()});
  DataLoader host(numbered(7), {.batch_size = 4, .shuffle = true, .seed = 1});
  data::Epoch on_device = loader.epoch(0);
  data::Epoch on_host = host.epoch(0);
  while (std::optional<Batch> batch = on_device.next()) {
    const std::optional<Batch> reference = on_host.next();
    ASSERT_TRUE(reference);
    for (std::size_t t = 0; t < batch->tensors.size(); ++t) {
      EXPECT_EQ(batch->tensors[t].device(), GetParam());
      EXPECT_EQ(host_values(batch->tensors[t]), host_values(reference->tensors[t]));
    }
  }
  EXPECT_FALSE(on_host.next());
}

REDES_INSTANTIATE_FOR_DEVICES(DataLoaderDevices);

// Both ways to a CUDA device (pinned staging with an event, and the plain
// copy), consumed on a stream other than the loader thread's, so the batch
// is only right if next() orders the caller's stream after the copies.
TEST(DataLoaderCuda, PinnedAndPlainCopiesReachAnotherStreamIntact) {
  const Device cuda0 = Device::cuda(0);
  REDES_REQUIRE_DEVICE(cuda0);
  for (const bool pin : {true, false}) {
    const cuda::Stream stream = cuda::Stream::create(cuda0.index);
    const cuda::StreamGuard guard(stream);
    DataLoader loader(numbered(300), {.batch_size = 64, .device = cuda0, .pin_memory = pin});
    DataLoader host(numbered(300), {.batch_size = 64});
    data::Epoch on_device = loader.epoch(0);
    data::Epoch on_host = host.epoch(0);
    while (std::optional<Batch> batch = on_device.next()) {
      const std::optional<Batch> reference = on_host.next();
      ASSERT_TRUE(reference);
      // Work on the caller's stream that reads the batch right away.
      const Tensor doubled = batch->tensors[0] * 2.0;
      EXPECT_EQ(host_values(doubled), host_values(reference->tensors[0] * 2.0)) << "pin_memory " << pin;
    }
    EXPECT_FALSE(on_host.next());
  }
}

}  // namespace
}  // namespace redes::testing
