// Runs the blocks of one kernel launch on the calling host thread.
//
// Every CUDA thread of a block is a fiber (Boost.Context) with its own stack,
// so a thread that reaches __syncthreads() or a warp intrinsic stops there
// while the others run, and shared-memory tiling and block reductions behave
// as on a device. A thread that finishes without stopping hands its stack to
// the next, so a kernel without barriers costs two context switches a thread.
//
// The order of the blocks, the order in which a block's threads start, and
// the order in which they resume after each barrier are permutations drawn
// from the launch's seed: a kernel that forgets a barrier reads values its
// partners have not written yet and gives a wrong result, as it may on a
// device. A block whose threads can never all meet (a barrier that some
// threads exited before, a shuffle naming a lane that exited, lanes that
// disagree on the step) fails the launch with a message instead of hanging.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <functional>
#include <string>

namespace redes::cuda_emulation {

struct GridLaunch {
  dim3 grid;
  dim3 block;
  std::size_t dynamic_shared_bytes = 0;
  std::uint64_t seed = 0;             // varies the thread order, launch by launch
  std::function<void()> thread_body;  // runs the kernel as the current CUDA thread
};

// Runs every block of `launch`; returns an empty string, or why the launch failed.
std::string run_grid(const GridLaunch& launch);

}  // namespace redes::cuda_emulation
