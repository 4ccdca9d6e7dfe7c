// The command-line options shared by the example programs and `redes train`:
// each workload reads what applies to it and keeps its docs/workloads.md default
// for what is not given.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include <redes.h>

#include "kernels/kernel_settings.h"

namespace redes::examples {

struct WorkloadOptions {
  Device device = Device::best();
  std::optional<std::int64_t> epochs;
  std::optional<std::int64_t> batch_size;
  std::optional<double> lr;
  std::optional<double> dropout;  // W1: run only this dropout setting
  bool augment = false;           // W2: the augmentation variant
  std::uint64_t seed = 0;
  std::string data;          // a data file or folder instead of the Debian package path
  std::string out = "out";   // checkpoints, metrics (JSON lines) and curves (SVG) go here
  bool resume = false;             // continue from the checkpoint in `out`; an error when there is none
  bool resume_if_present = false;  // continue when there is a checkpoint, else start afresh
  bool overwrite = false;          // a fresh run may replace the checkpoint and metrics in `out`
  train::OnNonFinite on_non_finite = train::OnNonFinite::Stop;  // --on-nan stop|skip
  std::int64_t max_batches = 0;  // > 0: cut every epoch short (smoke tests)
  std::int64_t workers = 0;      // threads building batches (0: the training thread)
  bool quiet = false;        // no progress output
  bool cuda_graph = false;   // --cuda-graph: FitOptions::cuda_graph
  std::optional<KernelImpl> impl;  // kernel implementations (hand, cudnn, auto); see kernels/kernel_settings.h
  bool deterministic = false;      // only bitwise-reproducible algorithms
  bool allow_tf32 = false;         // float32 GEMMs and convolutions may use TF32
  std::optional<DType> precision;  // --precision bf16|fp16: autocast dtype (unset: float32)
  // False on the ranks other than 0 of a data-parallel job (`mpirun -np N`):
  // only rank 0 writes the workload's own files and prints results.
  bool writes_files = true;
  // Set by SIGINT or SIGTERM under run_workload: training stops after the
  // current batch and saves a checkpoint.
  const std::atomic<bool>* stop = nullptr;
};

// Parses `argv[first..argc)`. Returns nothing and prints to `out` when --help
// was given; throws UsageError for unknown flags or bad values.
struct UsageError : Error {
  using Error::Error;
};
std::optional<WorkloadOptions> parse_workload_options(int argc, char** argv, int first, const std::string& program,
                                                      std::ostream& out);
std::string workload_usage(const std::string& program);

// Applies the process-wide settings the options carry (--impl,
// --deterministic, --tf32).
void apply_kernel_settings(const WorkloadOptions& options);

// Runs a workload as one run of a program: holds the lock on `out` (a second
// run into it fails at once), and turns SIGINT and SIGTERM into a stop after
// the current batch, with the checkpoint saved and exit code 130 or 143.
// Started by an MPI launcher (`mpirun -np N`), every process trains
// data-parallel: rank 0 holds the lock, writes the files and prints; the
// others print nothing; an error on any rank ends the whole job.
int run_workload(int (*workload)(const WorkloadOptions&), WorkloadOptions options, const std::string& program);

// Runs a workload's main function with options from the command line: exit
// code 0 on success, 2 on a usage error, 1 on any other error, 130/143 when
// stopped by SIGINT/SIGTERM.
int run_workload_main(int argc, char** argv, int (*workload)(const WorkloadOptions&));

// Throws UsageError for an option given that `workload` has no use for,
// rather than ignoring it: --dropout is for cars, --augment for fashion.
void refuse_inapplicable(const WorkloadOptions& options, const std::string& workload, bool takes_dropout,
                         bool takes_augment);

// Where a run writes a file of its own: `<out>/<name>`, creating `out`.
std::string output_path(const WorkloadOptions& options, const std::string& name);

// The trainer options every workload shares: checkpoint, metrics and curves
// in `out` under `name` (name.safetensors, name.jsonl, name.svg), resume and
// overwrite, the NaN policy, the seed, the batch limit, progress and the stop
// flag. The workload adds epochs, batch size and what is its own.
train::FitOptions fit_options(const WorkloadOptions& options, const std::string& name);

// Progress stream for the trainer (null when quiet).
std::ostream* progress_stream(const WorkloadOptions& options);

}  // namespace redes::examples
