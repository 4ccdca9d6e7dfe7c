// The snippets of docs/guide.md, "Data", with checks of what the text says.
#include <redes.h>
using namespace redes;

#include <cstdint>
#include <memory>
#include <vector>

#include "guide_check.h"

using guide::check;
using guide::near;

namespace {

// [guide:data_sample_dataset]
// Sample i is ({i, i}, i * i): get_sample returns one sample's tensors,
// without a batch dim, and SampleDataset stacks them into batches.
class Squares final : public data::SampleDataset {
 public:
  std::int64_t size() const override { return 10; }
  std::vector<Tensor> get_sample(std::int64_t i) const override {
    const double x = static_cast<double>(i);
    return {full({2}, x), scalar_tensor(x * x)};
  }
};
// [guide:end]

std::vector<std::vector<std::int64_t>> batch_indices(const data::DataLoader& loader, std::uint64_t epoch) {
  std::vector<std::vector<std::int64_t>> out;
  for (data::Batch& batch : loader.epoch(epoch)) out.push_back(batch.indices);
  return out;
}

void tensor_dataset() {
  // [guide:data_tensor_dataset]
  Generator generator(0);
  Tensor features = randn({100, 3}, {}, &generator);
  Tensor labels = (features.sum({1}) > 0.0).to(kFloat32).view({100, 1});
  auto dataset = std::make_shared<data::TensorDataset>(std::vector<Tensor>{features, labels});
  std::vector<Tensor> rows = dataset->get({4, 7});   // {features (2, 3), labels (2, 1)}
  // [guide:end]
  check(dataset->size() == 100, "size");
  check(rows.size() == 2 && rows[0].shape() == Shape{2, 3} && rows[1].shape() == Shape{2, 1}, "get");
  check(rows[0].narrow(0, 0, 1).to_vector<float>() == features.narrow(0, 4, 1).to_vector<float>(), "row 4");

  // [guide:data_loader]
  data::DataLoader loader(dataset, {.batch_size = 32, .shuffle = true, .seed = 7, .num_workers = 2});
  std::int64_t batches = loader.batches_per_epoch();  // 4: 32, 32, 32 and 4 samples
  std::int64_t seen = 0;
  double positives = 0;
  for (std::uint64_t epoch = 0; epoch < 2; ++epoch) {
    for (data::Batch& batch : loader.epoch(epoch)) {
      const Tensor& x = batch[0];                     // (32, 3), the last (4, 3)
      const Tensor& y = batch[1];                     // (32, 1), the last (4, 1)
      seen += x.size(0);                              // batch.indices: each sample's dataset index
      positives += y.sum().item();
    }
  }
  // [guide:end]
  check(batches == 4, "batches_per_epoch");
  check(seen == 200, "two epochs of 100 samples");
  check(positives == 2 * labels.sum().item(), "every label seen once per epoch");
  data::DataLoader one_worker(dataset, {.batch_size = 32, .shuffle = true, .seed = 7, .num_workers = 1});
  check(batch_indices(loader, 1) == batch_indices(one_worker, 1), "any worker count gives the same batches");
  check(batch_indices(loader, 0) != batch_indices(loader, 1), "epochs are shuffled differently");
  data::DataLoader other_seed(dataset, {.batch_size = 32, .shuffle = true, .seed = 8});
  check(batch_indices(loader, 0) != batch_indices(other_seed, 0), "the seed decides the order");
  check(loader.order(3) == data::DataLoader(dataset, {.shuffle = true, .seed = 7}).order(3), "order(e) from (seed, e)");
  std::int64_t last = 0;
  for (data::Batch& batch : loader.epoch(0)) last = batch[0].size(0);
  check(last == 4, "the last batch has 4 samples");
}

void sample_dataset() {
  // [guide:data_sample_dataset_use]
  data::DataLoader loader(std::make_shared<Squares>(), {.batch_size = 4});
  data::Epoch epoch = loader.epoch(0);
  std::optional<data::Batch> first = epoch.next();   // batch[0]: (4, 2), batch[1]: (4)
  // [guide:end]
  check(first.has_value() && (*first)[0].shape() == Shape{4, 2} && (*first)[1].shape() == Shape{4}, "stacked");
  check(near((*first)[1].to_vector<float>(), {0, 1, 4, 9}), "squares");
}

void augmentation() {
  // [guide:data_augment]
  Tensor images = rand({8, 1, 28, 28});                // (N, C, H, W) in [0, 1]
  Tensor mirrored = data::flip_horizontal(images, std::vector<bool>(8, true));
  // Random draws keyed by (seed, epoch, dataset index of each sample), so a
  // sample gets the same augmentation whatever batch it lands in:
  std::vector<std::int64_t> indices{0, 1, 2, 3, 4, 5, 6, 7};  // a Batch's .indices
  Tensor augmented = data::augment(images, {.max_degrees = 15}, {.seed = 1, .epoch = 0, .indices = indices});
  // [guide:end]
  check(mirrored.select(3, 0).to_vector<float>() == images.select(3, 27).to_vector<float>(), "flip");
  check(augmented.shape() == images.shape(), "augment shape");
  Tensor again = data::augment(images, {.max_degrees = 15}, {.seed = 1, .epoch = 0, .indices = indices});
  check(again.to_vector<float>() == augmented.to_vector<float>(), "same keys, same augmentation");
  // Sample 3 alone, keyed by its index, gets what it got in the batch.
  Tensor alone = data::augment(images.narrow(0, 3, 1), {.max_degrees = 15}, {.seed = 1, .epoch = 0, .indices = {3}});
  check(alone.to_vector<float>() == augmented.narrow(0, 3, 1).to_vector<float>(), "independent of the batch");
}

}  // namespace

int main() {
  return guide::run("guide_data", [] {
    tensor_dataset();
    sample_dataset();
    augmentation();
  });
}
