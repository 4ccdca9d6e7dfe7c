#include "workload_options.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <optional>

namespace redes::examples {

namespace {

template <class Number>
Number parse_number(const std::string& flag, const std::string& text) {
  Number value{};
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    throw UsageError(flag + ": expected a number, got \"" + text + "\"");
  }
  return value;
}

// Set by the first SIGINT or SIGTERM; the handler then resets itself, so a
// second Ctrl-C ends the process at once.
std::atomic<bool> stop_flag{false};
volatile sig_atomic_t stop_signal = 0;

extern "C" void on_stop_signal(int signal) {
  stop_signal = signal;
  stop_flag.store(true);
}

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = &on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

std::int64_t parse_positive(const std::string& flag, const std::string& text) {
  const auto value = parse_number<std::int64_t>(flag, text);
  if (value <= 0) throw UsageError(flag + ": expected a positive integer, got " + text);
  return value;
}

}  // namespace

std::string workload_usage(const std::string& program) {
  return "usage: " + program +
         " [options]\n"
         "  --device auto|cpu|cuda|cuda:N   where to train (default: auto = cuda:0 if present, else cpu)\n"
         "  --epochs N                      training epochs (default: the workload's)\n"
         "  --batch-size N                  batch size (default: the workload's)\n"
         "  --lr X                          learning rate (default: the workload's)\n"
         "  --dropout P                     cars: train only with this dropout (default: 0 and 0.3)\n"
         "  --augment                       fashion: the augmentation variant\n"
         "  --seed N                        shuffling and initialisation seed (default 0)\n"
         "  --data PATH                     data file or folder instead of the Debian package path\n"
         "  --out DIR                       checkpoints, metrics and curves (default: out)\n"
         "  --resume                        continue from the checkpoint in --out (an error when there is none)\n"
         "  --resume-if-present             continue when --out holds a checkpoint, else start afresh\n"
         "  --overwrite                     start afresh even where --out holds a checkpoint and metrics\n"
         "                                  (without it, a fresh run refuses to replace them)\n"
         "  --on-nan stop|skip              a NaN or infinite loss or gradient: stop the run, keeping the last\n"
         "                                  checkpoint (default), or skip that batch (checks every batch)\n"
         "  --max-batches N                 cut every epoch short after N batches\n"
         "  --workers N                     threads building batches, 0 to 64 (default 0: the training\n"
         "                                  thread builds them between steps)\n"
         "  --cuda-graph                    CUDA: capture the training step once as a CUDA graph and replay\n"
         "                                  it (falls back with a message where the step cannot be captured)\n"
         "  --quiet                         no progress output\n"
         "  --impl hand|vendor|auto         kernels: hand-written, the vendor library (cuDNN on CUDA, oneDNN\n"
         "                                  on the CPU; cudnn is accepted for vendor), or auto: on CUDA the\n"
         "                                  fastest per shape, on the CPU the vendor library where it serves\n"
         "                                  (default: $REDES_KERNEL_IMPL, else auto)\n"
         "  --deterministic                 only bitwise-reproducible algorithms (also REDES_DETERMINISTIC=1)\n"
         "  --tf32                          let float32 GEMMs and convolutions round inputs to TF32 on GPUs\n"
         "                                  that have it (also REDES_ALLOW_TF32=1; default: exact float32)\n"
         "  --precision fp32|bf16|fp16      mixed precision: matmuls and convolutions in bfloat16 or float16\n"
         "                                  (autocast), losses and parameters in float32; fp16 also scales\n"
         "                                  the loss (default: fp32)\n"
         "  --help                          this text\n";
}

std::optional<WorkloadOptions> parse_workload_options(int argc, char** argv, int first, const std::string& program,
                                                      std::ostream& out) {
  WorkloadOptions options;
  for (int i = first; i < argc; ++i) {
    const std::string flag = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--help" || flag == "-h") {
      out << workload_usage(program);
      return std::nullopt;
    } else if (flag == "--device") {
      const std::string text = value();
      try {
        options.device = text == "auto" ? Device::best() : Device::parse(text);
      } catch (const Error& error) {
        throw UsageError(std::string("--device: ") + error.what());
      }
      if (options.device.is_cuda() && !cuda::is_available()) {
        throw UsageError("--device: cannot use " + text + ": " + cuda::unavailable_reason());
      }
      if (options.device.is_cuda() && options.device.index >= cuda::device_count()) {
        throw UsageError("--device: cannot use " + text + ": this machine has " +
                         std::to_string(cuda::device_count()) + " CUDA device(s), cuda:0 to cuda:" +
                         std::to_string(cuda::device_count() - 1));
      }
    } else if (flag == "--epochs") {
      options.epochs = parse_positive(flag, value());
    } else if (flag == "--batch-size") {
      options.batch_size = parse_positive(flag, value());
    } else if (flag == "--lr") {
      const std::string text = value();
      options.lr = parse_number<double>(flag, text);
      if (!(std::isfinite(*options.lr) && *options.lr > 0)) {
        throw UsageError("--lr: expected a finite, positive learning rate, got " + text);
      }
    } else if (flag == "--dropout") {
      const std::string text = value();
      options.dropout = parse_number<double>(flag, text);
      // Written so that NaN fails too.
      if (!(*options.dropout >= 0 && *options.dropout < 1)) {
        throw UsageError("--dropout: expected a value in [0, 1), got " + text);
      }
    } else if (flag == "--augment") {
      options.augment = true;
    } else if (flag == "--seed") {
      options.seed = parse_number<std::uint64_t>(flag, value());
    } else if (flag == "--data") {
      options.data = value();
    } else if (flag == "--out") {
      options.out = value();
    } else if (flag == "--resume") {
      options.resume = true;
    } else if (flag == "--resume-if-present") {
      options.resume_if_present = true;
    } else if (flag == "--overwrite") {
      options.overwrite = true;
    } else if (flag == "--on-nan") {
      const std::string text = value();
      if (text != "stop" && text != "skip") throw UsageError("--on-nan: expected stop or skip, got \"" + text + "\"");
      options.on_non_finite = text == "stop" ? train::OnNonFinite::Stop : train::OnNonFinite::SkipBatch;
    } else if (flag == "--max-batches") {
      options.max_batches = parse_positive(flag, value());
    } else if (flag == "--workers") {
      const std::string text = value();
      options.workers = parse_number<std::int64_t>(flag, text);
      if (options.workers < 0 || options.workers > 64) {
        throw UsageError("--workers: expected a whole number from 0 to 64, got " + text);
      }
    } else if (flag == "--cuda-graph") {
      options.cuda_graph = true;
    } else if (flag == "--quiet") {
      options.quiet = true;
    } else if (flag == "--impl") {
      const std::string text = value();
      try {
        options.impl = parse_kernel_impl(text, "--impl");
      } catch (const Error& error) {
        throw UsageError(error.what());
      }
    } else if (flag == "--deterministic") {
      options.deterministic = true;
    } else if (flag == "--tf32") {
      options.allow_tf32 = true;
    } else if (flag == "--precision") {
      const std::string text = value();
      if (text == "fp32") {
        options.precision.reset();
      } else if (text == "bf16" || text == "fp16") {
        options.precision = text == "bf16" ? kBFloat16 : kFloat16;
      } else {
        throw UsageError("--precision: expected fp32, bf16 or fp16, got \"" + text + "\"");
      }
    } else {
      throw UsageError("unknown option \"" + flag + "\"");
    }
  }
  if (options.overwrite && (options.resume || options.resume_if_present)) {
    throw UsageError("--overwrite cannot be combined with --resume or --resume-if-present");
  }
  return options;
}

namespace {

// A process started by an MPI launcher joins its job.
void join_job(WorkloadOptions& options) {
  dist::init();
  if (dist::rank() != 0) {
    options.writes_files = false;
    options.quiet = true;
    // Results and reports come from rank 0 alone.
    std::fflush(stdout);
    const int null_device = ::open("/dev/null", O_WRONLY);
    if (null_device >= 0) {
      ::dup2(null_device, STDOUT_FILENO);
      ::close(null_device);
    }
  }
  // Several GPUs on a machine: one per local rank.
  if (options.device.is_cuda() && cuda::device_count() > 1) {
    options.device = Device::cuda(dist::local_rank() % cuda::device_count());
  }
}

}  // namespace

int run_workload(int (*workload)(const WorkloadOptions&), WorkloadOptions options, const std::string& program) {
  install_stop_handlers();
  const bool job = dist::launched_as_job();
  if (job) join_job(options);
  std::optional<train::OutputLock> lock;
  if (options.writes_files) lock.emplace(options.out);
  options.stop = &stop_flag;
  int status = 0;
  try {
    status = workload(options);
  } catch (const std::exception& error) {
    // The other ranks may be waiting in a collective for this one.
    if (job) dist::abort_job(program + ": error on rank " + std::to_string(dist::rank()) + ": " + error.what());
    throw;
  }
  if (stop_signal != 0) {
    std::cerr << program << ": stopped by " << (stop_signal == SIGINT ? "SIGINT" : "SIGTERM")
              << " after the current batch; the checkpoints in " << options.out
              << " hold the work so far, and --resume continues from them\n";
    return 128 + stop_signal;
  }
  return status;
}

int run_workload_main(int argc, char** argv, int (*workload)(const WorkloadOptions&)) {
  const std::string program = std::filesystem::path(argv[0]).filename().string();
  try {
    const std::optional<WorkloadOptions> options = parse_workload_options(argc, argv, 1, program, std::cout);
    if (!options) return 0;
    apply_kernel_settings(*options);
    return run_workload(workload, *options, program);
  } catch (const UsageError& error) {
    std::cerr << program << ": " << error.what() << "\n" << workload_usage(program);
    return 2;
  } catch (const std::exception& error) {
    std::cerr << program << ": error: " << error.what() << "\n";
    return 1;
  }
}

void apply_kernel_settings(const WorkloadOptions& options) {
  if (options.impl) set_kernel_impl(*options.impl);
  // A flag turns a setting on; without it the environment's choice stands.
  if (options.deterministic) set_deterministic(true);
  if (options.allow_tf32) set_allow_tf32(true);
}

void refuse_inapplicable(const WorkloadOptions& options, const std::string& workload, bool takes_dropout,
                         bool takes_augment) {
  if (options.dropout && !takes_dropout) throw UsageError("--dropout does not apply to " + workload + " (only to cars)");
  if (options.augment && !takes_augment) throw UsageError("--augment does not apply to " + workload + " (only to fashion)");
}

std::string output_path(const WorkloadOptions& options, const std::string& name) {
  std::filesystem::create_directories(options.out);
  return (std::filesystem::path(options.out) / name).string();
}

std::ostream* progress_stream(const WorkloadOptions& options) { return options.quiet ? nullptr : &std::cerr; }

train::FitOptions fit_options(const WorkloadOptions& options, const std::string& name) {
  return {.seed = options.seed,
          .num_workers = options.workers,
          .checkpoint_path = output_path(options, name + ".safetensors"),
          .resume = options.resume,
          .resume_if_present = options.resume_if_present,
          .overwrite = options.overwrite,
          .on_non_finite = options.on_non_finite,
          .stop = options.stop,
          .max_batches_per_epoch = options.max_batches,
          .log = progress_stream(options),
          .metrics_path = output_path(options, name + ".jsonl"),
          .curves_path = output_path(options, name + ".svg"),
          .data_parallel = dist::launched_as_job(),
          .cuda_graph = options.cuda_graph,
          .precision = options.precision};
}

}  // namespace redes::examples
