// Multi-process collectives on tensors: the processes of one job (started by
// `mpirun -np N` or `srun`) each hold a tensor, and a collective combines
// them. CPU tensors go through MPI; CUDA tensors through NCCL where it is
// built, else through host copies and MPI.
//
//   redes::dist::init();                       // reads the launcher's environment
//   Tensor g = ...;
//   redes::dist::all_reduce(g, redes::dist::ReduceOp::Average);
//
// Without a launcher, or in a build without MPI, the job is one process:
// rank 0 of a world of 1, where every collective leaves its tensor as it is.
//
// Every process must call the same collectives in the same order with
// tensors of the same shape and dtype, as MPI requires. A collective that
// does not complete within the timeout (a rank died or took another path)
// ends the whole job with a message naming the collective, instead of
// hanging it.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/export.h"
#include "core/tensor.h"

namespace redes::dist {

enum class ReduceOp { Sum, Average, Max, Min };

struct InitOptions {
  // How long a collective may take before the job is ended. The
  // environment variable REDES_DIST_TIMEOUT (seconds) overrides it.
  std::chrono::milliseconds timeout = std::chrono::minutes(5);
};

// Joins the job the launcher started (rank and size from MPI). Idempotent;
// the collectives below call it on first use. Throws when the environment
// names a job of several processes and this build has no MPI.
REDES_API void init(const InitOptions& options = {});
REDES_API bool is_initialized();
// Whether this process was started as one of several by an MPI launcher
// (read from the environment; needs no init).
REDES_API bool launched_as_job();

REDES_API int rank();
REDES_API int world_size();
REDES_API int local_rank();  // rank among the processes on this machine
// Rank 0: the process that writes files and prints results.
inline bool is_main_process() { return rank() == 0; }

// The backends this build carries: "mpi", "nccl" (may be empty), and the
// MPI library's own version line when MPI is built in.
REDES_API std::vector<std::string> backends();
REDES_API std::string mpi_library_version();

// In place: every rank ends with the combination of all ranks' tensors.
// Average divides the sum by the world size (floating dtypes only).
REDES_API void all_reduce(Tensor& tensor, ReduceOp op = ReduceOp::Sum);
// In place: every rank ends with rank `root`'s tensor.
REDES_API void broadcast(Tensor& tensor, int root = 0);
// Every rank's tensor, stacked: shape (world_size, *tensor.shape()). The
// shapes must agree; a rank whose shape differs makes all of them throw.
REDES_API Tensor all_gather(const Tensor& tensor);
REDES_API void barrier();

// A collective running in the background (all_reduce_async).
class REDES_API Work {
 public:
  Work() = default;
  // Waits for the collective (with the job's timeout); the tensor then holds
  // the result. Rethrows a failure of the collective.
  void wait();
  bool ready() const;
  // Seconds the collective itself took (after wait()).
  double seconds() const;

  struct State;
  explicit Work(std::shared_ptr<State> state) : state_(std::move(state)) {}

 private:
  std::shared_ptr<State> state_;
};

// Starts an all-reduce of a contiguous CPU tensor, which must stay alive
// and untouched until wait(). Collectives run one at a time in the order
// they were started, on a communication thread, so the caller can compute
// meanwhile.
REDES_API Work all_reduce_async(Tensor tensor, ReduceOp op = ReduceOp::Sum);

// Ends the whole job at once (MPI_Abort) after writing `message` to stderr:
// for a process that failed while the others may be waiting in a
// collective. In a job of one process: std::exit(code).
[[noreturn]] REDES_API void abort_job(const std::string& message, int code = 1);

// Leaves the job (MPI_Finalize). Called at exit when init ran; idempotent.
REDES_API void finalize();

}  // namespace redes::dist
