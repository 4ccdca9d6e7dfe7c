// The snippets of docs/guide.md, "Several processes", with checks of what
// the text says. ctest runs this program alone and, where MPI is built in,
// as two ranks under mpirun; the checks hold for any number of ranks.
#include <redes.h>
using namespace redes;

#include <cstdint>
#include <memory>
#include <vector>

#include "guide_check.h"

using guide::check;
using guide::near;

namespace {

// Points in the plane, labelled 1 above the line x0 + 2 x1 = 0: the same on every rank.
std::shared_ptr<data::TensorDataset> make_points(std::int64_t count, std::uint64_t seed) {
  Generator generator(seed);
  Tensor x = randn({count, 2}, {}, &generator);
  Tensor y = ((x.select(1, 0) + x.select(1, 1) * 2.0) > 0.0).to(kFloat32).view({count, 1});
  return std::make_shared<data::TensorDataset>(std::vector<Tensor>{x, y});
}

void collectives() {
  // [guide:dist_collectives]
  dist::init();  // joins the job mpirun started; alone, a world of one process
  Tensor grad = full({3}, dist::rank() + 1.0);
  dist::all_reduce(grad, dist::ReduceOp::Average);  // on every rank: the mean over ranks
  Tensor best = full({1}, dist::rank() * 10.0);
  dist::all_reduce(best, dist::ReduceOp::Max);      // Sum, Average, Max, Min
  Tensor everyone = dist::all_gather(full({2}, static_cast<double>(dist::rank())));  // (world_size, 2)
  dist::broadcast(grad, /*root=*/0);                // rank 0's tensor to every rank
  // [guide:end]
  const double world = dist::world_size();
  check(near(grad.to_vector<float>(), {(world + 1) / 2, (world + 1) / 2, (world + 1) / 2}),
        "the average of rank + 1 over ranks is (world + 1) / 2");
  check(near(best.item(), (world - 1) * 10), "the max of rank * 10 is (world - 1) * 10");
  check(everyone.shape() == Shape{dist::world_size(), 2}, "all_gather stacks one row per rank");
}

double accuracy(nn::Module& model, const data::TensorDataset& set) {
  NoGradGuard no_grad;
  const Tensor logits = model(set.tensors()[0]);
  return ((logits > 0.0) == (set.tensors()[1] > 0.5)).to(kFloat32).mean().item();
}

void own_loop() {
  const auto train_set = make_points(256, 0);
  manual_seed(static_cast<std::uint64_t>(dist::rank()));  // replicas made differently on purpose
  // [guide:dist_data_parallel]
  nn::Sequential model(nn::Linear(2, 16), nn::ReLU(), nn::Linear(16, 1));
  dist::DataParallel replicas(model);  // every rank starts from rank 0's parameters
  optim::SGD sgd(model.parameters(), {.lr = 0.2, .momentum = 0.9});
  data::DataLoader loader(train_set, {.batch_size = 32, .shuffle = true, .seed = 1,
                                      .shard_rank = dist::rank(), .shard_count = dist::world_size()});
  for (std::uint64_t epoch = 0; epoch < 10; ++epoch) {
    for (data::Batch& batch : loader.epoch(epoch)) {  // this rank's shard of the epoch
      sgd.zero_grad();
      nn::bce_with_logits(model(batch[0]), batch[1]).backward();
      replicas.synchronize_gradients();  // the average over ranks, mostly sent while backward ran
      sgd.step();
    }
  }
  // [guide:end]
  Tensor mine = model.parameters()[0].detach().clone();
  Tensor first = mine.clone();
  dist::broadcast(first, 0);
  check(near(mine.to_vector<float>(), first.to(kFloat64).to_vector<double>(), 0.0), "the replicas stay identical");
  check(accuracy(model, *make_points(256, 0)) > 0.95, "the data-parallel loop learns the line");
}

void with_trainer() {
  const auto train_set = make_points(256, 0);
  const auto test_set = make_points(64, 1);
  manual_seed(0);
  nn::Sequential model(nn::Linear(2, 16), nn::ReLU(), nn::Linear(16, 1));
  optim::Adam adam(model.parameters(), {.lr = 1e-2});
  train::Trainer trainer(model, adam, [](const Tensor& y, const Tensor& t) { return nn::bce_with_logits(y, t); },
                         train::Task::BinaryClassification);
  // [guide:dist_trainer]
  train::FitOptions options{.epochs = 3, .batch_size = 32, .seed = 1, .eval = test_set, .data_parallel = true};
  std::vector<train::EpochRecord> records = trainer.fit(train_set, options);
  std::int64_t seen = records.back().train.samples;  // 256: every rank's samples
  // [guide:end]
  check(seen == 256, "the metrics count the samples of every rank");
  check(records.back().eval->samples == 64, "the evaluation covers the test set once");
  check(records.back().steps == 256 / (32 * dist::world_size()), "each step takes world_size x batch_size samples");
}

}  // namespace

int main() {
  return guide::run("guide_distributed", [] {
    collectives();
    own_loop();
    with_trainer();
  });
}
