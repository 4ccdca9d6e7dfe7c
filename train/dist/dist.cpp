#include "train/dist/dist.h"

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mutex>

#include "core/error.h"
#include "train/dist/collective_queue.h"
#include "train/dist/nccl.h"

namespace redes::dist {

namespace {

std::mutex init_mutex;
std::unique_ptr<CollectiveQueue> queue;
bool finalized = false;  // MPI cannot be joined again once left

// The launcher's count of processes: Open MPI, then PMI (MPICH, Slurm).
int launcher_world_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"}) {
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0') return std::atoi(value);
  }
  return 1;
}

std::chrono::milliseconds timeout_from(const InitOptions& options) {
  const char* value = std::getenv("REDES_DIST_TIMEOUT");
  if (value == nullptr || *value == '\0') return options.timeout;
  char* end = nullptr;
  const double seconds = std::strtod(value, &end);
  REDES_CHECK(end != value && *end == '\0' && seconds > 0, "redes::dist: REDES_DIST_TIMEOUT must be a positive "
              "number of seconds, got '", value, "'");
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
}

CollectiveQueue& the_queue() {
  init();
  return *queue;
}

std::string describe(const char* collective, const Tensor& tensor) {
  return std::string(collective) + " of " + std::to_string(tensor.numel()) + " " + dtype_name(tensor.dtype()) +
         " elements";
}

// The host buffer a collective works on: the tensor itself when it is a
// contiguous CPU tensor, else a contiguous host copy, written back by the
// collective's finish step.
Tensor host_buffer(const Tensor& tensor) {
  if (tensor.device().is_cpu() && tensor.is_contiguous()) return tensor;
  return tensor.to(Device::cpu()).contiguous();
}

// Copies a staged result back into `tensor` (no-op when `buffer` is it).
void write_back(const Tensor& buffer, Tensor tensor) {
  if (buffer.impl() == tensor.impl()) return;
  NoGradGuard no_grad;
  tensor.copy_(buffer);
}

void check_defined(const Tensor& tensor, const char* collective) {
  REDES_CHECK(tensor.defined(), "redes::dist::", collective, ": the tensor is undefined");
}

void check_reducible(const Tensor& tensor, ReduceOp op) {
  check_defined(tensor, "all_reduce");
  REDES_CHECK(op != ReduceOp::Average || is_floating(tensor.dtype()), "redes::dist::all_reduce: an average needs a "
              "floating-point tensor, got ", dtype_name(tensor.dtype()), "; use ReduceOp::Sum");
}

// Submits an all-reduce; its finish step (run by wait) divides an average
// and writes a staged result back into `tensor`.
std::shared_ptr<Work::State> submit_all_reduce(const Tensor& tensor, ReduceOp op) {
  check_reducible(tensor, op);
  CollectiveQueue& q = the_queue();
  Tensor buffer = host_buffer(tensor);
  const ReduceOp wire = op == ReduceOp::Average ? ReduceOp::Sum : op;
  const int world = q.world_size();
  return q.submit(
      describe("all_reduce", tensor),
      [buffer, wire](detail::HostBackend& backend) {
        backend.all_reduce(buffer.data_ptr(), buffer.numel(), buffer.dtype(), wire);
      },
      [buffer, tensor, op, world]() mutable {
        NoGradGuard no_grad;
        if (op == ReduceOp::Average && world > 1) buffer.mul_(1.0 / world);
        write_back(buffer, tensor);
      });
}

}  // namespace

void init(const InitOptions& options) {
  std::lock_guard lock(init_mutex);
  if (queue) return;
  REDES_CHECK(!finalized, "redes::dist: init() after finalize(); a process joins its job once");
  const bool job = launched_as_job();
  queue = std::make_unique<CollectiveQueue>(job ? detail::make_mpi_backend : detail::make_single_process_backend,
                                            timeout_from(options));
  // Leaving MPI at exit: a process that ends without MPI_Finalize makes the
  // launcher report the job as failed.
  static const bool registered = [] {
    std::atexit(finalize);
    return true;
  }();
  (void)registered;
}

bool is_initialized() {
  std::lock_guard lock(init_mutex);
  return queue != nullptr;
}

bool launched_as_job() { return launcher_world_size() > 1; }

int rank() { return the_queue().rank(); }
int world_size() { return the_queue().world_size(); }
int local_rank() { return the_queue().local_rank(); }

std::vector<std::string> backends() {
  std::vector<std::string> names;
  if (detail::mpi_built()) names.emplace_back("mpi");
  if (detail::nccl_built()) names.emplace_back("nccl");
  return names;
}

std::string mpi_library_version() { return detail::mpi_version(); }

void Work::wait() {
  if (state_) state_->queue->wait(*state_);
}

bool Work::ready() const {
  if (!state_) return true;
  std::lock_guard lock(state_->mutex);
  return state_->done;
}

double Work::seconds() const {
  if (!state_) return 0;
  std::lock_guard lock(state_->mutex);
  return state_->seconds;
}

Work all_reduce_async(Tensor tensor, ReduceOp op) { return Work(submit_all_reduce(tensor, op)); }

void all_reduce(Tensor& tensor, ReduceOp op) {
  check_reducible(tensor, op);
  if (tensor.device().is_cuda() && detail::nccl_built()) {
    detail::nccl_all_reduce(tensor, op);
    return;
  }
  Work(submit_all_reduce(tensor, op)).wait();
}

void broadcast(Tensor& tensor, int root) {
  check_defined(tensor, "broadcast");
  CollectiveQueue& q = the_queue();
  REDES_CHECK(root >= 0 && root < q.world_size(), "redes::dist::broadcast: root must be a rank in [0, ",
              q.world_size(), "), got ", root);
  if (tensor.device().is_cuda() && detail::nccl_built()) {
    detail::nccl_broadcast(tensor, root);
    return;
  }
  const Tensor buffer = host_buffer(tensor);
  const std::int64_t bytes = buffer.numel() * static_cast<std::int64_t>(dtype_size(buffer.dtype()));
  Work(q.submit(
           describe("broadcast", tensor),
           [buffer, bytes, root](detail::HostBackend& backend) { backend.broadcast(buffer.data_ptr(), bytes, root); },
           [buffer, tensor] { write_back(buffer, tensor); }))
      .wait();
}

Tensor all_gather(const Tensor& tensor) {
  check_defined(tensor, "all_gather");
  CollectiveQueue& q = the_queue();
  // Shapes first, so that a rank with another shape makes every rank throw
  // the same error instead of corrupting or hanging the gather.
  constexpr std::int64_t kSlots = 34;  // dtype, rank, up to 32 sizes
  REDES_CHECK(tensor.dim() <= kSlots - 2, "redes::dist::all_gather: at most ", kSlots - 2, " dimensions, got ",
              tensor.dim());
  Tensor signature = zeros({kSlots}, TensorOptions{.dtype = kInt64});
  auto* slots = signature.data<std::int64_t>();
  slots[0] = static_cast<std::int64_t>(tensor.dtype());
  slots[1] = tensor.dim();
  for (std::int64_t d = 0; d < tensor.dim(); ++d) slots[2 + d] = tensor.shape()[static_cast<std::size_t>(d)];
  const int world = q.world_size();
  Tensor signatures = zeros({world, kSlots}, TensorOptions{.dtype = kInt64});
  Work(q.submit("all_gather of tensor shapes", [signature, signatures](detail::HostBackend& backend) {
         backend.all_gather(signature.data_ptr(), signatures.data_ptr(), kSlots * 8);
       })).wait();
  const auto* gathered = signatures.data<std::int64_t>();
  for (int r = 1; r < world; ++r) {
    if (std::memcmp(gathered, gathered + r * kSlots, kSlots * 8) == 0) continue;
    const auto shape_of = [&](int who) {
      const std::int64_t* s = gathered + who * kSlots;
      Shape shape(s + 2, s + 2 + s[1]);
      return dtype_name(static_cast<DType>(s[0])) + std::string(" ") + shape_str(shape);
    };
    ::redes::detail::fail("redes::dist::all_gather: every rank must give the same shape and dtype; rank 0 gave ",
                          shape_of(0), ", rank ", r, " gave ", shape_of(r));
  }
  const Tensor buffer = host_buffer(tensor);
  Shape out_shape{world};
  for (const std::int64_t size : tensor.shape()) out_shape.push_back(size);
  Tensor gathered_data = empty(out_shape, TensorOptions{.dtype = tensor.dtype()});
  const std::int64_t bytes = buffer.numel() * static_cast<std::int64_t>(dtype_size(buffer.dtype()));
  Work(q.submit(describe("all_gather", tensor), [buffer, gathered_data, bytes](detail::HostBackend& backend) {
         backend.all_gather(buffer.data_ptr(), gathered_data.data_ptr(), bytes);
       })).wait();
  return tensor.device().is_cpu() ? gathered_data : gathered_data.to(tensor.device());
}

void barrier() { Work(the_queue().submit("barrier", [](detail::HostBackend& backend) { backend.barrier(); })).wait(); }

void abort_job(const std::string& message, int code) {
  std::cerr << message << std::endl;
  std::unique_lock lock(init_mutex);
  if (queue && queue->world_size() > 1) queue->abort(code);
  lock.unlock();
  std::exit(code);
}

void finalize() {
  std::lock_guard lock(init_mutex);
  detail::nccl_finalize();
  if (queue) finalized = true;
  queue.reset();
}

}  // namespace redes::dist
