// Data-parallel training: every rank of a job holds a replica of the model
// and trains on its own shard of the data; after each backward pass the
// gradients are averaged across ranks, so every replica takes the same
// optimizer step and the replicas stay identical.
//
//   redes::dist::init();
//   redes::dist::DataParallel replicas(model);   // rank 0's parameters reach every rank
//   ... loss.backward(); replicas.synchronize_gradients(); optimizer.step();
//
// The gradients travel in buckets of about bucket_bytes, in reverse order of
// registration (the order backward produces them): a bucket's all-reduce
// starts as soon as its last gradient has been accumulated, on the
// communication thread, while backward computes the rest.
// Trainer does all of this with FitOptions::data_parallel.
#pragma once

#include <cstdint>
#include <memory>

#include "core/export.h"
#include "layers/module.h"

namespace redes::dist {

struct DataParallelOptions {
  std::int64_t bucket_bytes = std::int64_t{25} << 20;
  // Start from rank 0's parameters and buffers (else each rank keeps its own).
  bool broadcast_parameters = true;
};

// What the last synchronize_gradients() did.
struct GradientSyncStats {
  std::int64_t buckets = 0;
  std::int64_t bytes = 0;           // gradient bytes all-reduced
  double collective_seconds = 0;    // the all-reduces' own time, summed
  double exposed_seconds = 0;       // time synchronize_gradients() waited: the part not hidden behind backward
};

class REDES_API DataParallel {
 public:
  // Checks that every rank has the same parameters (count, shapes, dtypes:
  // a rank whose model differs makes every rank throw), then broadcasts
  // rank 0's parameters and buffers.
  explicit DataParallel(nn::Module& model, const DataParallelOptions& options = {});
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  // After backward, before the optimizer step: waits for every bucket's
  // all-reduce (starting those backward did not complete, for parameters
  // that got no gradient) and leaves each parameter's grad() holding the
  // average over ranks. A parameter without a gradient on this rank gets
  // the average of the others' (zero where none has one).
  void synchronize_gradients();
  // Rank 0's parameters and buffers to every rank.
  void broadcast_parameters();

  std::int64_t bucket_count() const;
  const GradientSyncStats& last_sync() const;

  struct State;

 private:
  nn::Module& model_;
  std::unique_ptr<State> state_;
};

}  // namespace redes::dist
