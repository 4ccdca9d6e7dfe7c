// Collectives on CUDA tensors through NCCL, on the tensor's current stream
// (the host does not wait; later work on that stream sees the result). The
// communicator is made on first use, its unique id sent from rank 0 over
// MPI. In a build without NCCL these are never called: CUDA tensors go
// through host copies and MPI instead.
#pragma once

#include "core/tensor.h"
#include "train/dist/dist.h"

namespace redes::dist::detail {

bool nccl_built();
void nccl_all_reduce(Tensor& tensor, ReduceOp op);
void nccl_broadcast(Tensor& tensor, int root);
// Destroys the communicator (before MPI is left).
void nccl_finalize();

}  // namespace redes::dist::detail
