// TensorDataset, SampleDataset and DataLoader: batching, coverage, drop_last,
// the seeded Philox shuffle, the workers' bound, order and identity across
// worker counts, shutdown, errors, the batch-size check and the collate step.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <numeric>
#include <set>
#include <string>
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

TEST(DataLoaderShards, ShardsTogetherAreTheOrderPaddedAndBatchKOfAllIsBatchKOfOne) {
  const auto dataset = numbered(23);
  const LoaderOptions base{.batch_size = 2, .shuffle = true, .seed = 4};
  const std::vector<std::int64_t> order = DataLoader(dataset, base).order(1);
  for (const std::int64_t shards : {1, 2, 3, 5}) {
    std::vector<std::vector<std::int64_t>> mine;
    for (std::int64_t r = 0; r < shards; ++r) {
      LoaderOptions options = base;
      options.shard_rank = r;
      options.shard_count = shards;
      const DataLoader loader(dataset, options);
      mine.push_back(loader.shard_order(1));
      // ceil(23 / shards) samples each, in ceil(that / 2) batches.
      const std::int64_t per_shard = (23 + shards - 1) / shards;
      EXPECT_EQ(static_cast<std::int64_t>(mine.back().size()), per_shard) << shards;
      EXPECT_EQ(loader.batches_per_epoch(), (per_shard + 1) / 2) << shards;
      std::vector<std::int64_t> batched;
      for (const auto& batch : epoch_indices(loader, 1)) batched.insert(batched.end(), batch.begin(), batch.end());
      EXPECT_EQ(batched, mine.back()) << "shard " << r << " of " << shards;
    }
    // Interleaved, the shards are the order, padded with its own start.
    for (std::size_t i = 0; i < mine[0].size() * static_cast<std::size_t>(shards); ++i) {
      const auto& shard = mine[i % static_cast<std::size_t>(shards)];
      EXPECT_EQ(shard[i / static_cast<std::size_t>(shards)], order[i % order.size()]) << shards << " " << i;
    }
  }
}

TEST(DataLoaderShards, AnEpochFromASampleOnSkipsTheSamplesBeforeIt) {
  const auto dataset = numbered(10);
  LoaderOptions options{.batch_size = 3, .shuffle = true, .seed = 9, .shard_rank = 1, .shard_count = 2};
  const DataLoader loader(dataset, options);
  const std::vector<std::int64_t> order = loader.order(0);
  // From sample 4: the rest (6 samples), rank 1 takes positions 1, 3, 5.
  std::vector<std::int64_t> seen;
  for (Batch& batch : loader.epoch(0, 4)) seen.insert(seen.end(), batch.indices.begin(), batch.indices.end());
  EXPECT_EQ(seen, (std::vector<std::int64_t>{order[5], order[7], order[9]}));
  EXPECT_THROW(loader.epoch(0, 11), Error);
  options.shard_rank = 2;
  EXPECT_THROW(DataLoader(dataset, options), Error);
}

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
  for (const std::int64_t workers : {std::int64_t{-1}, std::int64_t{65}}) {
    try {
      DataLoader(probe, {.num_workers = workers});
      FAIL() << "num_workers " << workers << " was accepted";
    } catch (const Error& error) {
      EXPECT_NE(std::string(error.what()).find("num_workers must be in [0, 64]"), std::string::npos) << error.what();
      EXPECT_NE(std::string(error.what()).find("got " + std::to_string(workers)), std::string::npos) << error.what();
    }
  }
  EXPECT_NO_THROW(DataLoader(probe, {.num_workers = 64}));
  EXPECT_NO_THROW(DataLoader(probe, {.num_workers = 0}));
}

// Every batch of an epoch: indices and tensor values.
struct EpochContent {
  std::vector<std::vector<std::int64_t>> indices;
  std::vector<std::vector<std::vector<double>>> values;  // batch, tensor, element
};

EpochContent read_epoch(const DataLoader& loader, std::uint64_t epoch) {
  EpochContent content;
  for (Batch& batch : loader.epoch(epoch)) {
    content.indices.push_back(batch.indices);
    std::vector<std::vector<double>> tensors;
    for (const Tensor& tensor : batch.tensors) tensors.push_back(host_values(tensor));
    content.values.push_back(std::move(tensors));
  }
  return content;
}

// Sample i has features (i, 10 i) and label i, like numbered(), and get()
// takes a time that varies from batch to batch, so that workers finish
// batches out of order.
class Uneven final : public data::Dataset {
 public:
  explicit Uneven(std::int64_t n) : rows_(numbered(n)) {}
  std::int64_t size() const override { return rows_->size(); }
  std::vector<Tensor> get(const std::vector<std::int64_t>& indices) const override {
    if (!indices.empty()) std::this_thread::sleep_for(std::chrono::milliseconds((indices[0] * 7) % 5));
    return rows_->get(indices);
  }

 private:
  std::shared_ptr<data::TensorDataset> rows_;
};

TEST(DataLoaderWorkers, AnyWorkerCountGivesTheBatchesOfOneWorker) {
  const auto dataset = std::make_shared<Uneven>(103);
  for (const bool shuffle : {false, true}) {
    const LoaderOptions one{.batch_size = 8, .shuffle = shuffle, .seed = 7};
    const EpochContent reference = read_epoch(DataLoader(dataset, one), 2);
    // The reference itself is right: the loader's order, in batches of 8, and
    // rows that hold the samples they name.
    ASSERT_EQ(reference.indices.size(), 13u);
    std::vector<std::int64_t> flat;
    for (std::size_t b = 0; b < reference.indices.size(); ++b) {
      flat.insert(flat.end(), reference.indices[b].begin(), reference.indices[b].end());
      std::vector<double> features, labels;
      for (const std::int64_t i : reference.indices[b]) {
        features.insert(features.end(), {static_cast<double>(i), static_cast<double>(10 * i)});
        labels.push_back(static_cast<double>(i));
      }
      EXPECT_EQ(reference.values[b][0], features);
      EXPECT_EQ(reference.values[b][1], labels);
    }
    EXPECT_EQ(flat, DataLoader(dataset, one).order(2));
    for (const std::int64_t workers : {0, 2, 3, 4, 8, 20}) {
      LoaderOptions options = one;
      options.num_workers = workers;
      const EpochContent content = read_epoch(DataLoader(dataset, options), 2);
      EXPECT_EQ(content.indices, reference.indices) << workers << " workers, shuffle " << shuffle;
      EXPECT_EQ(content.values, reference.values) << workers << " workers, shuffle " << shuffle;
    }
  }
}

// Images of 8 x 8 whose get() applies the W2 augmentation keyed by the
// sample indices, as a data set that augments on the host would.
class Augmenting final : public data::Dataset {
 public:
  explicit Augmenting(std::int64_t n) {
    std::vector<float> pixels;
    for (std::int64_t i = 0; i < n * 64; ++i) pixels.push_back(static_cast<float>((i * 37) % 101) / 100.0f);
    images_ = std::make_shared<data::TensorDataset>(std::vector<Tensor>{from_vector(pixels, {n, 1, 8, 8})});
  }
  std::int64_t size() const override { return images_->size(); }
  std::vector<Tensor> get(const std::vector<std::int64_t>& indices) const override {
    return {data::augment(images_->get(indices)[0], {}, {kSeed, 0, indices})};
  }
  const data::TensorDataset& plain() const { return *images_; }
  static constexpr std::uint64_t kSeed = 11;

 private:
  std::shared_ptr<data::TensorDataset> images_;
};

TEST(DataLoaderWorkers, AugmentationIsTheSameWithAnyWorkerCount) {
  const auto dataset = std::make_shared<Augmenting>(50);
  const LoaderOptions one{.batch_size = 6, .shuffle = true, .seed = 3};
  const EpochContent reference = read_epoch(DataLoader(dataset, one), 1);
  ASSERT_EQ(reference.indices.size(), 9u);
  // Batch b holds the augmentation of its samples, computed here directly,
  // and differs from the plain images (the augmentation ran).
  for (std::size_t b = 0; b < reference.indices.size(); ++b) {
    const Tensor plain = dataset->plain().get(reference.indices[b])[0];
    const Tensor expected = data::augment(plain, {}, {Augmenting::kSeed, 0, reference.indices[b]});
    EXPECT_EQ(reference.values[b][0], host_values(expected)) << "batch " << b;
    EXPECT_NE(reference.values[b][0], host_values(plain)) << "batch " << b;
  }
  for (const std::int64_t workers : {0, 2, 4, 7}) {
    LoaderOptions options = one;
    options.num_workers = workers;
    const EpochContent content = read_epoch(DataLoader(dataset, options), 1);
    EXPECT_EQ(content.indices, reference.indices) << workers << " workers";
    EXPECT_EQ(content.values, reference.values) << workers << " workers";
  }
}

TEST(DataLoaderWorkers, WorkersStayAtMostPrefetchPlusWorkersBatchesAhead) {
  const auto probe = std::make_shared<Probe>(1000, std::chrono::milliseconds(0));
  DataLoader loader(probe, {.batch_size = 10, .prefetch = 2, .num_workers = 3});
  data::Epoch epoch = loader.epoch(0);
  ASSERT_TRUE(epoch.next());
  // One taken, then at most 2 + 3 more claimed: 6 calls, and no more.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (probe->calls() < 6 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(probe->calls(), 6);
  ASSERT_TRUE(epoch.next());
  while (probe->calls() < 7 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(probe->calls(), 7);
}

TEST(DataLoaderWorkers, DestroyingAnEpochMidwayStopsAndJoinsEveryWorker) {
  const auto probe = std::make_shared<Probe>(10000, std::chrono::milliseconds(2));
  DataLoader loader(probe, {.batch_size = 1, .prefetch = 1, .num_workers = 4});
  const auto start = std::chrono::steady_clock::now();
  {
    data::Epoch epoch = loader.epoch(0);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(epoch.next());
  }
  const std::int64_t after = probe->calls();
  EXPECT_LE(after, 3 + 1 + 4);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(probe->calls(), after);  // joined: nothing runs any more
  for (int i = 0; i < 5; ++i) {
    data::Epoch unused = loader.epoch(static_cast<std::uint64_t>(i + 1));  // never read from
  }
  data::Epoch moved = loader.epoch(10);
  data::Epoch target = std::move(moved);
  EXPECT_FALSE(moved.next());
  target = loader.epoch(11);
  const std::optional<Batch> batch = target.next();
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->epoch, 11u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

// Batches (of 2, unshuffled) that hold a sample in `failing` throw, batch b
// after sleeping `delay(b)`, so a later batch can fail first.
class Failing final : public data::Dataset {
 public:
  Failing(std::set<std::int64_t> failing, std::function<int(std::int64_t)> delay_ms)
      : failing_(std::move(failing)), delay_ms_(std::move(delay_ms)) {}
  std::int64_t size() const override { return 20; }
  std::vector<Tensor> get(const std::vector<std::int64_t>& indices) const override {
    const std::int64_t batch = indices[0] / 2;
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_(batch)));
    for (const std::int64_t i : indices) {
      if (failing_.count(i) > 0) throw Error("failing: sample " + std::to_string(i) + " is unreadable");
    }
    return numbered(20)->get(indices);
  }

 private:
  std::set<std::int64_t> failing_;
  std::function<int(std::int64_t)> delay_ms_;
};

// The batches before the failing one arrive, then its error, then the end.
void expect_failure_at_batch(DataLoader& loader, std::int64_t failing_batch, const std::string& message) {
  data::Epoch epoch = loader.epoch(0);
  for (std::int64_t b = 0; b < failing_batch; ++b) {
    const std::optional<Batch> batch = epoch.next();
    ASSERT_TRUE(batch) << "batch " << b;
    EXPECT_EQ(batch->indices, (std::vector<std::int64_t>{2 * b, 2 * b + 1}));
    EXPECT_EQ((*batch)[1].to_vector<std::int64_t>(), batch->indices);
  }
  try {
    epoch.next();
    FAIL() << "batch " << failing_batch << " did not throw";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(message), std::string::npos) << error.what();
  }
  EXPECT_FALSE(epoch.next());
  EXPECT_FALSE(epoch.next());
}

TEST(DataLoaderWorkers, AWorkersExceptionSurfacesAtItsBatch) {
  for (const std::int64_t workers : {0, 1, 2, 4}) {
    SCOPED_TRACE(std::to_string(workers) + " workers");
    DataLoader loader(std::make_shared<Failing>(std::set<std::int64_t>{7}, [](std::int64_t) { return 0; }),
                      {.batch_size = 2, .num_workers = workers});
    expect_failure_at_batch(loader, 3, "sample 7 is unreadable");
    // Batch 4 fails at once, batch 3 only after 40 ms: the caller still
    // meets batch 3's error, as with one worker.
    DataLoader both(std::make_shared<Failing>(std::set<std::int64_t>{6, 9},
                                              [](std::int64_t b) { return b == 3 ? 40 : 0; }),
                    {.batch_size = 2, .num_workers = workers});
    expect_failure_at_batch(both, 3, "sample 6 is unreadable");
  }
}

// get() returns what `make` builds for the batch's sample count.
class Misshapen final : public data::Dataset {
 public:
  explicit Misshapen(std::function<std::vector<Tensor>(std::int64_t)> make) : make_(std::move(make)) {}
  std::int64_t size() const override { return 10; }
  std::vector<Tensor> get(const std::vector<std::int64_t>& indices) const override {
    return make_(static_cast<std::int64_t>(indices.size()));
  }

 private:
  std::function<std::vector<Tensor>(std::int64_t)> make_;
};

std::string first_batch_error(std::function<std::vector<Tensor>(std::int64_t)> make, std::int64_t workers = 1) {
  DataLoader loader(std::make_shared<Misshapen>(std::move(make)), {.batch_size = 4, .num_workers = workers});
  try {
    loader.epoch(0).next();
  } catch (const Error& error) {
    return error.what();
  }
  return "no error";
}

TEST(DataLoader, BatchesWhoseFirstDimIsNotTheBatchSizeAreRefused) {
  const std::string rows = first_batch_error([](std::int64_t n) {
    return std::vector<Tensor>{zeros({n, 3}), zeros({n + 1}, {kInt64})};
  });
  EXPECT_NE(rows.find("dataset tensor 1 of batch 0 of epoch 0 has shape (5,), expected the batch size 4 as dim 0"),
            std::string::npos)
      << rows;
  const std::string scalar = first_batch_error([](std::int64_t n) {
    return std::vector<Tensor>{zeros({n}), scalar_tensor(1)};
  }, 3);
  EXPECT_NE(scalar.find("dataset tensor 1 of batch 0 of epoch 0 has shape (), expected the batch size 4"),
            std::string::npos)
      << scalar;
  const std::string undefined = first_batch_error([](std::int64_t) { return std::vector<Tensor>{Tensor()}; });
  EXPECT_NE(undefined.find("dataset tensor 0 of batch 0 of epoch 0 has shape (undefined)"), std::string::npos)
      << undefined;
  const std::string none = first_batch_error([](std::int64_t) { return std::vector<Tensor>{}; });
  EXPECT_NE(none.find("Dataset::get returned no tensors for batch 0 of epoch 0 (4 samples)"), std::string::npos)
      << none;
  EXPECT_EQ(first_batch_error([](std::int64_t n) { return std::vector<Tensor>{zeros({n, 2, 2})}; }), "no error");
}

// Sample i: features (i, -i) as float32 and the label i as a 0-d int64.
class Squares final : public data::SampleDataset {
 public:
  explicit Squares(std::int64_t n, std::int64_t odd_one = -1, int oddity = 0)
      : n_(n), odd_one_(odd_one), oddity_(oddity) {}
  std::int64_t size() const override { return n_; }
  std::vector<Tensor> get_sample(std::int64_t i) const override {
    const auto v = static_cast<float>(i);
    std::vector<Tensor> sample{from_vector(std::vector<float>{v, -v}, {2}), scalar_tensor(static_cast<double>(i), {kInt64})};
    if (i != odd_one_) return sample;
    if (oddity_ == 0) sample[0] = zeros({3});                // another shape
    if (oddity_ == 1) sample[1] = scalar_tensor(1.0);        // another dtype
    if (oddity_ == 2) sample.push_back(zeros({1}));          // another count
    if (oddity_ == 3) sample.clear();                        // nothing
    return sample;
  }

 private:
  std::int64_t n_, odd_one_;
  int oddity_;
};

TEST(SampleDataset, StacksSamplesIntoABatch) {
  const Squares squares(10);
  const std::vector<Tensor> batch = squares.get({3, 1, 3});
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch[0].shape(), (Shape{3, 2}));
  EXPECT_EQ(batch[0].dtype(), kFloat32);
  EXPECT_EQ(host_values(batch[0]), (std::vector<double>{3, -3, 1, -1, 3, -3}));
  EXPECT_EQ(batch[1].shape(), (Shape{3}));
  EXPECT_EQ(batch[1].to_vector<std::int64_t>(), (std::vector<std::int64_t>{3, 1, 3}));
  // A batch of none is shaped like sample 0.
  const std::vector<Tensor> none = squares.get({});
  EXPECT_EQ(none[0].shape(), (Shape{0, 2}));
  EXPECT_EQ(none[1].shape(), (Shape{0}));
  EXPECT_EQ(none[1].dtype(), kInt64);
  EXPECT_THROW(Squares(0).get({}), Error);
  EXPECT_THROW(squares.get({10}), Error);
  EXPECT_THROW(squares.get({-1}), Error);

  // Through the loader, shuffled, with several workers.
  DataLoader loader(std::make_shared<Squares>(23), {.batch_size = 5, .shuffle = true, .seed = 2, .num_workers = 3});
  std::vector<std::int64_t> seen;
  for (Batch& b : loader.epoch(0)) {
    EXPECT_EQ(b[1].to_vector<std::int64_t>(), b.indices);
    std::vector<double> features;
    for (const std::int64_t i : b.indices) features.insert(features.end(), {static_cast<double>(i), -static_cast<double>(i)});
    EXPECT_EQ(host_values(b[0]), features);
    seen.insert(seen.end(), b.indices.begin(), b.indices.end());
  }
  EXPECT_EQ(seen, loader.order(0));
}

TEST(SampleDataset, SamplesThatDisagreeAreNamed) {
  const auto message = [](int oddity) {
    try {
      Squares(10, 4, oddity).get({2, 4, 6});
    } catch (const Error& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  const std::string shape = message(0);
  EXPECT_NE(shape.find("tensor 0 of sample 4 is (3,) float32 on cpu, the same tensor of sample 2 is (2,) float32 on cpu"),
            std::string::npos)
      << shape;
  const std::string dtype = message(1);
  EXPECT_NE(dtype.find("tensor 1 of sample 4 is () float32 on cpu, the same tensor of sample 2 is () int64 on cpu"),
            std::string::npos)
      << dtype;
  const std::string count = message(2);
  EXPECT_NE(count.find("sample 4 has 3 tensors, sample 2 has 2"), std::string::npos) << count;
  const std::string empty_sample = message(3);
  EXPECT_NE(empty_sample.find("sample 4 has 0 tensors, sample 2 has 2"), std::string::npos) << empty_sample;
  try {
    Squares(10, 2, 3).get({2, 4});
    FAIL() << "a sample without tensors was stacked";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("sample 2 has no tensors"), std::string::npos) << error.what();
  }
}

class DataLoaderDevices : public ::testing::TestWithParam<Device> {};

TEST_P(DataLoaderDevices, BatchesArriveOnTheTargetDevice) {
  REDES_REQUIRE_DEVICE(GetParam());
  for (const std::int64_t workers : {0, 1}) {
    DataLoader loader(numbered(7),
                      {.batch_size = 4, .shuffle = true, .seed = 1, .num_workers = workers, .device = GetParam()});
    DataLoader host(numbered(7), {.batch_size = 4, .shuffle = true, .seed = 1});
    data::Epoch on_device = loader.epoch(0);
    data::Epoch on_host = host.epoch(0);
    while (std::optional<Batch> batch = on_device.next()) {
      const std::optional<Batch> reference = on_host.next();
      ASSERT_TRUE(reference);
      for (std::size_t t = 0; t < batch->tensors.size(); ++t) {
        EXPECT_EQ(batch->tensors[t].device(), GetParam());
        EXPECT_EQ(host_values(batch->tensors[t]), host_values(reference->tensors[t])) << workers << " workers";
      }
    }
    EXPECT_FALSE(on_host.next());
  }
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
