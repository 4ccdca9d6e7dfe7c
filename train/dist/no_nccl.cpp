// A build without NCCL: CUDA tensors go through host copies and MPI.
#include "core/error.h"
#include "train/dist/nccl.h"

namespace redes::dist::detail {

bool nccl_built() { return false; }
void nccl_all_reduce(Tensor&, ReduceOp) { ::redes::detail::fail("redes::dist: built without NCCL"); }
void nccl_broadcast(Tensor&, int) { ::redes::detail::fail("redes::dist: built without NCCL"); }
void nccl_finalize() {}

}  // namespace redes::dist::detail
