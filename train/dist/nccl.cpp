// NCCL for CUDA tensors: one communicator per process, on the device of the
// first CUDA tensor it sees (one GPU per rank, as the launcher assigns them
// by local rank).
#include "train/dist/nccl.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <cstring>
#include <mutex>

#include "core/cuda_stream.h"
#include "core/error.h"

namespace redes::dist::detail {

namespace {

std::mutex comm_mutex;
ncclComm_t comm = nullptr;
int comm_device = -1;

void check(ncclResult_t status, const char* what) {
  if (status == ncclSuccess) return;
  ::redes::detail::fail("redes::dist: ", what, " failed: ", ncclGetErrorString(status), " (",
                        ncclGetLastError(comm), ")");
}

ncclDataType_t nccl_type(DType dtype) {
  switch (dtype) {
    case DType::Float32: return ncclFloat32;
    case DType::Float64: return ncclFloat64;
    case DType::Int64: return ncclInt64;
    case DType::Int32: return ncclInt32;
    case DType::UInt8:
    case DType::Bool: return ncclUint8;
    case DType::Float16: return ncclFloat16;
    case DType::BFloat16: return ncclBfloat16;
  }
  ::redes::detail::fail("redes::dist: no NCCL type for ", dtype_name(dtype));
}

ncclRedOp_t nccl_op(ReduceOp op, DType dtype) {
  // A bool "sum" is a logical or: the max of 0/1 bytes.
  if (dtype == DType::Bool && op == ReduceOp::Sum) return ncclMax;
  switch (op) {
    case ReduceOp::Sum: return ncclSum;
    case ReduceOp::Average: return ncclAvg;
    case ReduceOp::Max: return ncclMax;
    case ReduceOp::Min: return ncclMin;
  }
  return ncclSum;
}

// The communicator for `device`, made collectively on first use.
ncclComm_t communicator(int device) {
  std::lock_guard lock(comm_mutex);
  if (comm != nullptr) {
    REDES_CHECK(device == comm_device, "redes::dist: this rank's NCCL communicator is on cuda:", comm_device,
                ", a tensor is on cuda:", device, "; use one GPU per rank");
    return comm;
  }
  ncclUniqueId id{};
  Tensor id_bytes = zeros({static_cast<std::int64_t>(sizeof id)}, TensorOptions{.dtype = kUInt8});
  if (rank() == 0) {
    check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    std::memcpy(id_bytes.data_ptr(), &id, sizeof id);
  }
  broadcast(id_bytes, 0);  // over MPI
  std::memcpy(&id, id_bytes.data_ptr(), sizeof id);
  REDES_CHECK(cudaSetDevice(device) == cudaSuccess, "redes::dist: cudaSetDevice(", device, ") failed");
  check(ncclCommInitRank(&comm, world_size(), id, rank()), "ncclCommInitRank");
  comm_device = device;
  return comm;
}

// Runs `collective` (in place on a contiguous buffer, on the device's
// current stream) over `tensor`, through a contiguous copy when it is strided.
template <class Collective>
void in_place(Tensor& tensor, Collective&& collective) {
  Tensor buffer = tensor.is_contiguous() ? tensor : tensor.contiguous();
  collective(buffer);
  if (buffer.impl() == tensor.impl()) return;
  NoGradGuard no_grad;
  tensor.copy_(buffer);
}

cudaStream_t current_stream(int device) { return static_cast<cudaStream_t>(cuda::Stream::current(device).handle()); }

}  // namespace

bool nccl_built() { return true; }

void nccl_all_reduce(Tensor& tensor, ReduceOp op) {
  const int device = tensor.device().index;
  ncclComm_t c = communicator(device);
  in_place(tensor, [&](Tensor& buffer) {
    check(ncclAllReduce(buffer.data_ptr(), buffer.data_ptr(), static_cast<std::size_t>(buffer.numel()),
                        nccl_type(buffer.dtype()), nccl_op(op, buffer.dtype()), c, current_stream(device)),
          "ncclAllReduce");
  });
}

void nccl_broadcast(Tensor& tensor, int root) {
  const int device = tensor.device().index;
  ncclComm_t c = communicator(device);
  in_place(tensor, [&](Tensor& buffer) {
    check(ncclBroadcast(buffer.data_ptr(), buffer.data_ptr(), static_cast<std::size_t>(buffer.numel()),
                        nccl_type(buffer.dtype()), root, c, current_stream(device)),
          "ncclBroadcast");
  });
}

void nccl_finalize() {
  std::lock_guard lock(comm_mutex);
  if (comm != nullptr) ncclCommDestroy(comm);
  comm = nullptr;
  comm_device = -1;
}

}  // namespace redes::dist::detail
