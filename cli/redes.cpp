// The `redes` command:
//   redes train <workload> [options]   train a reference workload (docs/workloads.md)
//   redes bench <workload> [options]   time its training steps
//   redes info                         version, build options, devices, kernels
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <tuple>

#include "kernels/backend_status.h"
#include "kernels/kernel_settings.h"
#include "kernels/registry.h"
#include "kernels/select.h"
#include "workloads.h"

namespace {

using redes::examples::WorkloadOptions;

const std::map<std::string, int (*)(const WorkloadOptions&)>& workloads() {
  static const std::map<std::string, int (*)(const WorkloadOptions&)> table{
      {"cars", &redes::examples::cars_mlp},
      {"fashion", &redes::examples::fashion_lenet},
      {"cifar", &redes::examples::cifar_cnn},
      {"seattle", &redes::examples::seattle_lstm},
      {"fashion-seq", &redes::examples::fashion_seq_lstm},
  };
  return table;
}

std::string usage() {
  return "usage: redes <command> [arguments]\n"
         "  redes train <workload> [options]   train: cars | fashion | cifar | seattle | fashion-seq\n"
         "  redes bench <workload> [options]   median training-step time and throughput (JSON lines)\n"
         "  redes info                         version, build options, CUDA devices, kernel implementations\n"
         "  redes <command> --help             options of a command\n";
}

int info() {
  const redes::BuildInfo build = redes::build_info();
  std::printf("redes %s\n", build.version.c_str());
  std::printf("build: CUDA backend %s, cuDNN %s",
              build.cuda_emulated ? "emulated on the host (a test build: no GPU, no GPU timings)"
                                  : (build.cuda ? "yes" : "no"),
              build.cudnn ? "yes" : "no");
  if (build.cuda && !build.cuda_emulated) std::printf(", CUDA architectures %s", build.cuda_architectures.c_str());
  std::printf("\n");
  std::printf("oneDNN (CPU vendor library): %s\n",
              build.onednn ? ("yes, " + build.onednn_version + " (" + build.onednn_cpu + ")").c_str()
                           : "no (the hand-written CPU kernels serve)");
  if (!build.cudnn_version.empty()) {
    std::printf("cuDNN library: %s (%s)\n", build.cudnn_version.c_str(), build.cudnn_path.c_str());
  }
  // Multi-process training: which collectives backends were built in.
  const std::vector<std::string> backends = redes::dist::backends();
  const auto built = [&](const char* name) { return std::find(backends.begin(), backends.end(), name) != backends.end(); };
  std::printf("distributed (mpirun -np N redes train ...): MPI %s, NCCL %s\n",
              built("mpi") ? ("yes, " + redes::dist::mpi_library_version()).c_str()
                           : "no (one process only)",
              built("nccl") ? "yes" : "no (CUDA tensors go through host copies and MPI)");
  std::printf("CPU threads: %d\n", redes::get_num_threads());
  if (redes::cuda::is_available()) {
    for (int d = 0; d < redes::cuda::device_count(); ++d) {
      const redes::cuda::DeviceProperties p = redes::cuda::properties(d);
      std::printf("cuda:%d: %s, compute capability %d.%d, %.1f GiB, %d SMs\n", d, p.name.c_str(), p.major, p.minor,
                  static_cast<double>(p.total_memory) / (1 << 30), p.multiprocessors);
    }
  } else {
    std::printf("CUDA devices: none (%s)\n", redes::cuda::unavailable_reason().c_str());
  }
  if (build.cudnn) {
    const std::string why = redes::cudnn_unusable_reason();
    if (!why.empty()) std::printf("cuDNN unusable here, the hand-written kernels run instead: %s\n", why.c_str());
  }
  const redes::KernelImpl impl = redes::kernel_impl();
  std::printf(
      "kernel implementation setting: %s (--impl or REDES_KERNEL_IMPL), deterministic %s (--deterministic or "
      "REDES_DETERMINISTIC), TF32 %s (--tf32 or REDES_ALLOW_TF32)\n",
      redes::kernel_impl_name(impl), redes::deterministic() ? "on" : "off", redes::allow_tf32() ? "allowed" : "off");
  std::printf("kernel implementations (op: device dtype -> names, highest priority first; * = selected):\n");
  redes::KernelRegistry& registry = redes::KernelRegistry::instance();
  std::map<std::string, std::vector<std::string>> by_op;
  std::map<std::tuple<std::string, redes::DeviceType, redes::DType>, bool> seen;
  for (const redes::KernelEntry* entry : registry.all()) {
    const auto key = std::make_tuple(entry->op, entry->device, entry->dtype);
    if (seen[key]) continue;
    seen[key] = true;
    const std::vector<const redes::KernelEntry*> candidates =
        registry.candidates(entry->op, entry->device, entry->dtype);
    // What a call that every implementation supports gets: the forced one, or
    // the setting's choice (auto: timed per shape on first sight).
    const std::string forced = registry.forced(entry->op);
    const redes::KernelEntry* chosen = redes::preferred_entry(impl, candidates);
    const bool timed = impl == redes::KernelImpl::Auto && candidates.size() > 1 && forced.empty();
    std::ostringstream line;
    line << (entry->device == redes::DeviceType::CPU ? "cpu" : "cuda") << " " << redes::dtype_name(entry->dtype)
         << " ->";
    for (const redes::KernelEntry* candidate : candidates) {
      const bool selected = forced.empty() ? (!timed && candidate == chosen) : candidate->name == forced;
      line << " " << candidate->name << (selected ? "*" : "");
    }
    if (timed) line << " (auto: fastest per shape)";
    by_op[entry->op].push_back(line.str());
  }
  for (const auto& [op, lines] : by_op) {
    std::printf("  %s:", op.c_str());
    for (const std::string& line : lines) std::printf(" [%s]", line.c_str());
    std::printf("\n");
  }
  return 0;
}

// A fresh folder of its own under the temp dir, removed with the object, so
// benches never see each other's (or an earlier bench's) checkpoints.
class PrivateFolder {
 public:
  PrivateFolder() {
    std::string pattern = (std::filesystem::temp_directory_path() / "redes-bench-XXXXXX").string();
    REDES_CHECK(::mkdtemp(pattern.data()) != nullptr, "redes bench: cannot create a folder under ",
                std::filesystem::temp_directory_path().string(), ": ", std::strerror(errno));
    path_ = pattern;
  }
  ~PrivateFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  PrivateFolder(const PrivateFolder&) = delete;
  PrivateFolder& operator=(const PrivateFolder&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs the workload on a few batches with its output captured, and prints
// only its timing lines.
int bench(int (*workload)(const WorkloadOptions&), WorkloadOptions options, const std::string& program) {
  if (options.resume || options.resume_if_present || options.overwrite || options.out != WorkloadOptions().out) {
    throw redes::examples::UsageError("bench trains afresh in a private temporary folder: --out, --resume, "
                                      "--resume-if-present and --overwrite do not apply");
  }
  REDES_CHECK(options.device.is_cpu() || !redes::build_info().cuda_emulated, "redes bench: ",
              options.device.str(), " is emulated on the host in this build (REDES_CUDA_EMULATION), so its timings "
              "say nothing about a GPU; use --device cpu, or a build for a real GPU");
  if (options.max_batches == 0) options.max_batches = 20;
  if (!options.epochs) options.epochs = 3;  // the first is warm-up
  options.quiet = true;
  const PrivateFolder folder;
  options.out = folder.path();
  // The workload's std::cout lines are captured; its printf lines go to /dev/null.
  std::ostringstream captured;
  std::streambuf* original = std::cout.rdbuf(captured.rdbuf());
  std::fflush(stdout);
  const int saved_stdout = ::dup(STDOUT_FILENO);
  const int null_device = ::open("/dev/null", O_WRONLY);
  ::dup2(null_device, STDOUT_FILENO);
  const auto restore = [&] {
    std::fflush(stdout);
    ::dup2(saved_stdout, STDOUT_FILENO);
    ::close(saved_stdout);
    ::close(null_device);
    std::cout.rdbuf(original);
  };
  int status = 0;
  try {
    status = redes::examples::run_workload(workload, options, program);
  } catch (...) {
    restore();
    throw;
  }
  restore();
  std::istringstream lines(captured.str());
  for (std::string line; std::getline(lines, line);) {
    const bool timing = line.find("\"step_") != std::string::npos || line.find("_per_second\"") != std::string::npos;
    if (line.rfind("{\"workload\"", 0) == 0 && timing) std::cout << line << "\n";
  }
  // Which implementations ran: the setting, and what auto chose per shape.
  std::cout << "{\"kernel_impl\": \"" << redes::kernel_impl_name(redes::kernel_impl())
            << "\", \"deterministic\": " << (redes::deterministic() ? "true" : "false")
            << ", \"tf32\": " << (redes::allow_tf32() ? "true" : "false") << ", \"precision\": \""
            << (options.precision ? redes::dtype_name(*options.precision) : "float32") << "\", \"auto_choices\": [";
  bool first = true;
  for (const auto& [key, name] : redes::KernelRegistry::instance().tuned()) {
    std::cout << (first ? "" : ", ") << "{\"call\": \"" << key << "\", \"impl\": \"" << name << "\"}";
    first = false;
  }
  std::cout << "]}\n";
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    (argc < 2 ? std::cerr : std::cout) << usage();
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  try {
    if (command == "info") {
      if (argc > 2 && std::string(argv[2]) != "--help") throw redes::examples::UsageError("info takes no arguments");
      if (argc > 2) {
        std::cout << "usage: redes info\n";
        return 0;
      }
      return info();
    }
    if (command != "train" && command != "bench")
      throw redes::examples::UsageError("unknown command \"" + command + "\"");
    if (argc < 3) throw redes::examples::UsageError(command + " needs a workload");
    const std::string name = argv[2];
    const std::string program = "redes " + command + " <workload>";
    if (name == "--help" || name == "-h") {
      std::cout << "workloads: cars, fashion, cifar, seattle, fashion-seq\n"
                << redes::examples::workload_usage(program);
      return 0;
    }
    auto found = workloads().find(name);
    if (found == workloads().end()) {
      throw redes::examples::UsageError("unknown workload \"" + name +
                                        "\" (cars, fashion, cifar, seattle, fashion-seq)");
    }
    const std::optional<WorkloadOptions> options =
        redes::examples::parse_workload_options(argc, argv, 3, "redes " + command + " " + name, std::cout);
    if (!options) return 0;
    redes::examples::apply_kernel_settings(*options);
    const std::string run_name = "redes " + command + " " + name;
    return command == "train" ? redes::examples::run_workload(found->second, *options, run_name)
                              : bench(found->second, *options, run_name);
  } catch (const redes::examples::UsageError& error) {
    std::cerr << "redes: " << error.what() << "\n" << usage();
    return 2;
  } catch (const std::exception& error) {
    std::cerr << "redes: error: " << error.what() << "\n";
    return 1;
  }
}
