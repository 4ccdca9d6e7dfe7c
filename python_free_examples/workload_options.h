// The command-line options shared by the example programs and `redes train`:
// each workload reads what applies to it and keeps its docs/workloads.md default
// for what is not given.
#pragma once

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
  bool resume = false;       // continue from the checkpoint in `out`
  std::int64_t max_batches = 0;  // > 0: cut every epoch short (smoke tests)
  bool quiet = false;        // no progress output
  std::optional<KernelImpl> impl;  // kernel implementations (hand, cudnn, auto); see kernels/kernel_settings.h
  bool deterministic = false;      // only bitwise-reproducible algorithms
  bool allow_tf32 = false;         // float32 GEMMs and convolutions may use TF32
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

// Runs a workload's main function with options from the command line: exit
// code 0 on success, 2 on a usage error, 1 on any other error.
int run_workload_main(int argc, char** argv, int (*workload)(const WorkloadOptions&));

// Where a run writes a file of its own: `<out>/<name>`, creating `out`.
std::string output_path(const WorkloadOptions& options, const std::string& name);

// Progress stream for the trainer (null when quiet).
std::ostream* progress_stream(const WorkloadOptions& options);

}  // namespace redes::examples
