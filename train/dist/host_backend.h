// The transport under redes::dist: collectives on host buffers. One
// implementation per library (MPI; a single process when there is no job),
// always called from one thread, the communication thread of
// collective_queue.h.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/dtype.h"
#include "train/dist/dist.h"

namespace redes::dist::detail {

class HostBackend {
 public:
  virtual ~HostBackend() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  virtual int local_rank() const = 0;
  // In place over `count` elements; op is Sum, Max or Min (Average is a Sum
  // divided afterwards by the caller).
  virtual void all_reduce(void* data, std::int64_t count, DType dtype, ReduceOp op) = 0;
  virtual void broadcast(void* data, std::int64_t bytes, int root) = 0;
  // `receive` holds world_size() * bytes: rank r's `send` lands at r * bytes.
  virtual void all_gather(const void* send, void* receive, std::int64_t bytes) = 0;
  virtual void barrier() = 0;
  // Ends every process of the job; may be called from any thread.
  [[noreturn]] virtual void abort(int code) = 0;
  virtual void finalize() = 0;
};

// A world of one process: reductions and broadcasts leave data as it is.
std::unique_ptr<HostBackend> make_single_process_backend();

// Joins the launcher's job through MPI; call on the thread that will make
// every later call. Throws in a build without MPI.
std::unique_ptr<HostBackend> make_mpi_backend();
bool mpi_built();
std::string mpi_version();  // the MPI library's version line; empty without MPI

}  // namespace redes::dist::detail
