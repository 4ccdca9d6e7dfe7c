// Blocks as fibers: see block_runner.h.
#include "core/cuda_emulation/block_runner.h"

#include <sys/mman.h>
#include <unistd.h>

#include <boost/context/fiber.hpp>
#include <boost/context/stack_context.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <numeric>
#include <stdexcept>
#include <utility>
#include <vector>

#include "core/cuda_emulation/fiber_sanitizer.h"
#include "core/cuda_emulation/seeds.h"

namespace redes::cuda_emulation {
namespace {

namespace ctx = boost::context;

constexpr int kWarpLanes = 32;
// Kernels run host code (and, under AddressSanitizer, its larger frames);
// pages are only touched as a stack grows.
constexpr std::size_t kStackBytes = std::size_t{256} << 10;
// What a shuffle returns from a lane that did not take part: undefined on a
// device, all ones here (NaN as a float or double, -1 as an integer).
constexpr std::uint64_t kPoisonBits = ~std::uint64_t{0};
constexpr std::uint64_t kMaxShuffledBlocks = std::uint64_t{1} << 20;

// Stacks of finished threads, kept for the next ones. Each has a guard page
// below it, so an overflow faults instead of corrupting a neighbour.
class StackPool {
 public:
  StackPool() = default;
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;
  ~StackPool() {
    for (const ctx::stack_context& stack : free_) munmap(base_of(stack), kStackBytes + page());
  }

  ctx::stack_context take() {
    if (!free_.empty()) {
      ctx::stack_context stack = free_.back();
      free_.pop_back();
      return stack;
    }
    void* base = mmap(nullptr, kStackBytes + page(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) throw std::bad_alloc();
    mprotect(base, page(), PROT_NONE);
    ctx::stack_context stack;
    stack.size = kStackBytes;
    stack.sp = static_cast<char*>(base) + page() + kStackBytes;
    return stack;
  }

  void give(const ctx::stack_context& stack) { free_.push_back(stack); }

 private:
  static std::size_t page() { return static_cast<std::size_t>(sysconf(_SC_PAGESIZE)); }
  static void* base_of(const ctx::stack_context& stack) {
    return static_cast<char*>(stack.sp) - stack.size - page();
  }
  std::vector<ctx::stack_context> free_;
};

// Boost.Context's StackAllocator over the pool; also tells the runner where
// the stack is, for AddressSanitizer's fiber annotations.
class PooledStack {
 public:
  PooledStack(StackPool& pool, ctx::stack_context& record) : pool_(&pool), record_(&record) {}
  ctx::stack_context allocate() {
    *record_ = pool_->take();
    return *record_;
  }
  void deallocate(ctx::stack_context& stack) noexcept { pool_->give(stack); }

 private:
  StackPool* pool_;
  ctx::stack_context* record_;
};

// Thrown into a suspended thread to unwind it when its block has failed.
struct ThreadAborted {};

enum class ThreadState { Pending, Runnable, AtBarrier, AtWarp, Exited };

// What the built-in variables say to one CUDA thread.
struct ThreadCoordinates {
  uint3 thread_idx;
  uint3 block_idx;
  dim3 block_dim;
  dim3 grid_dim;
};

struct EmulatedThread {
  ThreadCoordinates coordinates{};
  unsigned linear = 0;  // x + y * bx + z * bx * by: lanes and warps follow it
  ThreadState state = ThreadState::Pending;
  ctx::fiber context;    // where the thread resumes
  ctx::fiber scheduler;  // inside the thread: where it yields to
  ctx::stack_context stack{};
  void* fake_stack = nullptr;
  // The warp step this thread waits at, and its result.
  WarpOp op = WarpOp::Sync;
  unsigned mask = 0;
  std::uint64_t value = 0;
  int operand = 0;
  int width = kWarpLanes;
  std::uint64_t result = 0;
};

class BlockRunner;
thread_local BlockRunner* active_runner = nullptr;

const char* warp_op_name(WarpOp op) {
  switch (op) {
    case WarpOp::Sync: return "__syncwarp";
    case WarpOp::ShuffleIndex: return "__shfl_sync";
    case WarpOp::ShuffleUp: return "__shfl_up_sync";
    case WarpOp::ShuffleDown: return "__shfl_down_sync";
    case WarpOp::ShuffleXor: return "__shfl_xor_sync";
    case WarpOp::Ballot: return "__ballot_sync";
    case WarpOp::Any: return "__any_sync";
    case WarpOp::All: return "__all_sync";
  }
  return "a warp intrinsic";
}

std::string describe(const uint3& v) {
  return "(" + std::to_string(v.x) + ", " + std::to_string(v.y) + ", " + std::to_string(v.z) + ")";
}

class BlockRunner {
 public:
  std::string run_grid(const GridLaunch& launch) {
    launch_ = &launch;
    // Exactly the launch's size, so AddressSanitizer sees a read past it.
    std::unique_ptr<std::byte[]> shared;
    if (launch.dynamic_shared_bytes > 0) shared = std::make_unique<std::byte[]>(launch.dynamic_shared_bytes);
    dynamic_shared_ = shared.get();
    BlockRunner* previous = std::exchange(active_runner, this);
    // Blocks run in a seeded order too (a device promises none), up to a
    // million of them; bigger grids run in order.
    const std::uint64_t blocks = std::uint64_t{launch.grid.x} * launch.grid.y * launch.grid.z;
    const bool shuffled = blocks <= kMaxShuffledBlocks;
    if (shuffled) {
      block_order_.resize(blocks);
      std::iota(block_order_.begin(), block_order_.end(), 0u);
      SeedSequence(launch.seed).shuffle(block_order_);
    }
    std::string failure;
    for (std::uint64_t i = 0; i < blocks && failure.empty(); ++i) {
      const std::uint64_t linear = shuffled ? block_order_[i] : i;
      failure = run_block(uint3{static_cast<unsigned>(linear % launch.grid.x),
                                static_cast<unsigned>(linear / launch.grid.x % launch.grid.y),
                                static_cast<unsigned>(linear / (std::uint64_t{launch.grid.x} * launch.grid.y))});
    }
    active_runner = previous;
    return failure;
  }

  void* dynamic_shared() const { return dynamic_shared_; }

  void block_barrier() {
    EmulatedThread& thread = *current_;
    thread.state = ThreadState::AtBarrier;
    yield(thread);
  }

  std::uint64_t warp_exchange(WarpOp op, unsigned mask, std::uint64_t value, int operand, int width) {
    EmulatedThread& thread = *current_;
    const unsigned lane = thread.linear % kWarpLanes;
    if ((mask >> lane & 1u) == 0) {
      fail(std::string(warp_op_name(op)) + ": thread " + describe(thread.coordinates.thread_idx) + " (lane " +
           std::to_string(lane) + ") calls it with a mask that leaves its own lane out");
    }
    if (width < 1 || width > kWarpLanes || (width & (width - 1)) != 0) {
      fail(std::string(warp_op_name(op)) + ": width " + std::to_string(width) +
           " is not a power of two from 1 to 32");
    }
    thread.op = op;
    thread.mask = mask;
    thread.value = value;
    thread.operand = operand;
    thread.width = width;
    thread.state = ThreadState::AtWarp;
    if (warp_complete(thread)) finish_warp_step(thread.linear - lane, mask);
    yield(thread);
    return thread.result;
  }

 private:
  std::string run_block(uint3 block_idx) {
    const GridLaunch& launch = *launch_;
    const unsigned count = launch.block.x * launch.block.y * launch.block.z;
    threads_.clear();
    threads_.resize(count);
    for (unsigned i = 0; i < count; ++i) {
      EmulatedThread& thread = threads_[i];
      thread.linear = i;
      thread.coordinates.thread_idx =
          uint3{i % launch.block.x, i / launch.block.x % launch.block.y, i / (launch.block.x * launch.block.y)};
      thread.coordinates.block_idx = block_idx;
      thread.coordinates.block_dim = launch.block;
      thread.coordinates.grid_dim = launch.grid;
    }
    const std::uint64_t block_linear =
        block_idx.x + static_cast<std::uint64_t>(launch.grid.x) * (block_idx.y + std::uint64_t{launch.grid.y} * block_idx.z);
    order_ = SeedSequence(mix_seed(launch.seed, block_linear));
    if (dynamic_shared_ != nullptr) std::memset(dynamic_shared_, 0xFF, launch.dynamic_shared_bytes);

    failure_.clear();
    queue_.resize(count);
    std::iota(queue_.begin(), queue_.end(), 0u);
    order_.shuffle(queue_);
    head_ = 0;
    while (failure_.empty()) {
      while (head_ < queue_.size() && failure_.empty()) resume(threads_[queue_[head_++]]);
      if (!failure_.empty() || !release_barrier()) break;
    }
    if (!failure_.empty()) abort_suspended();
    return failure_;
  }

  // With the queue empty: starts the next phase when every live thread waits
  // at __syncthreads(); records why the block cannot go on otherwise. Returns
  // whether threads were released.
  bool release_barrier() {
    unsigned live = 0, at_barrier = 0, exited = 0;
    const EmulatedThread* at_warp = nullptr;
    for (const EmulatedThread& thread : threads_) {
      switch (thread.state) {
        case ThreadState::Exited: ++exited; break;
        case ThreadState::AtBarrier: ++live, ++at_barrier; break;
        case ThreadState::AtWarp: ++live, at_warp = &thread; break;
        default: ++live; break;
      }
    }
    if (live == 0) return false;
    if (at_warp != nullptr) {
      failure_ = std::string(warp_op_name(at_warp->op)) + ": thread " +
                 describe(at_warp->coordinates.thread_idx) + " waits for lanes of its mask that never arrive (" +
                 std::to_string(at_barrier) + " threads wait at __syncthreads() instead)";
      return false;
    }
    if (exited > 0) {
      failure_ = "__syncthreads() is reached by " + std::to_string(at_barrier) + " of the block's " +
                 std::to_string(threads_.size()) + " threads; the other " + std::to_string(exited) +
                 " returned before it (a barrier must be reached by every thread of the block)";
      return false;
    }
    queue_.clear();
    for (EmulatedThread& thread : threads_) {
      thread.state = ThreadState::Runnable;
      queue_.push_back(thread.linear);
    }
    order_.shuffle(queue_);
    head_ = 0;
    return true;
  }

  // Whether every existing lane named in the mask waits at this step.
  bool warp_complete(const EmulatedThread& arriving) {
    const unsigned base = arriving.linear - arriving.linear % kWarpLanes;
    bool complete = true;
    for (unsigned lane = 0; lane < kWarpLanes; ++lane) {
      if ((arriving.mask >> lane & 1u) == 0 || base + lane >= threads_.size()) continue;
      const EmulatedThread& other = threads_[base + lane];
      if (other.state == ThreadState::Exited) {
        fail(std::string(warp_op_name(arriving.op)) + ": thread " + describe(arriving.coordinates.thread_idx) +
             " names lane " + std::to_string(lane) + " in its mask, but that lane's thread " +
             describe(other.coordinates.thread_idx) + " has exited");
      }
      if (other.state != ThreadState::AtWarp) {
        complete = false;
      } else if (other.op != arriving.op || other.mask != arriving.mask) {
        fail(std::string(warp_op_name(arriving.op)) + " with mask " + std::to_string(arriving.mask) +
             " meets " + warp_op_name(other.op) + " with mask " + std::to_string(other.mask) +
             " in the same warp: lanes must take the same warp-synchronous step");
      }
    }
    return complete;
  }

  void finish_warp_step(unsigned base, unsigned mask) {
    unsigned present = 0;
    std::uint64_t ballot = 0;
    for (unsigned lane = 0; lane < kWarpLanes; ++lane) {
      if ((mask >> lane & 1u) == 0 || base + lane >= threads_.size()) continue;
      present |= 1u << lane;
      if (threads_[base + lane].value != 0) ballot |= std::uint64_t{1} << lane;
    }
    for (unsigned lane = 0; lane < kWarpLanes; ++lane) {
      if ((present >> lane & 1u) == 0) continue;
      EmulatedThread& thread = threads_[base + lane];
      switch (thread.op) {
        case WarpOp::Sync: thread.result = 0; break;
        case WarpOp::Ballot: thread.result = ballot; break;
        case WarpOp::Any: thread.result = ballot != 0; break;
        case WarpOp::All: thread.result = ballot == present; break;
        default: {
          const unsigned source = shuffle_source(thread, lane);
          thread.result = (present >> source & 1u) != 0 ? threads_[base + source].value : kPoisonBits;
          break;
        }
      }
      thread.state = ThreadState::Runnable;
      queue_.push_back(thread.linear);
    }
  }

  // The lane a shuffle reads, by the CUDA programming guide's rules for each
  // kind; out-of-segment sources read the lane's own value.
  static unsigned shuffle_source(const EmulatedThread& thread, unsigned lane) {
    const auto width = static_cast<unsigned>(thread.width);
    const unsigned segment = lane & ~(width - 1);
    const auto operand = static_cast<unsigned>(thread.operand);
    switch (thread.op) {
      case WarpOp::ShuffleIndex: return segment + (operand & (width - 1));
      case WarpOp::ShuffleUp: return (lane - segment) < operand ? lane : lane - operand;
      case WarpOp::ShuffleDown: return (lane - segment) + operand >= width ? lane : lane + operand;
      case WarpOp::ShuffleXor: {
        const unsigned source = lane ^ operand;
        return source >= segment + width ? lane : source;
      }
      default: return lane;
    }
  }

  void resume(EmulatedThread& thread) {
    current_ = &thread;
    threadIdx = thread.coordinates.thread_idx;
    blockIdx = thread.coordinates.block_idx;
    blockDim = thread.coordinates.block_dim;
    gridDim = thread.coordinates.grid_dim;
    if (thread.state == ThreadState::Pending) {
      thread.state = ThreadState::Runnable;
      thread.context = ctx::fiber(std::allocator_arg, PooledStack(stacks_, thread.stack),
                                  [this, &thread](ctx::fiber&& scheduler) { return thread_main(thread, std::move(scheduler)); });
    }
    start_fiber_switch(&scheduler_fake_stack_, thread.stack.sp, thread.stack.size);
    thread.context = std::move(thread.context).resume();
    finish_fiber_switch(scheduler_fake_stack_);
    current_ = nullptr;
  }

  ctx::fiber thread_main(EmulatedThread& thread, ctx::fiber&& scheduler) {
    thread.scheduler = std::move(scheduler);
    finish_fiber_switch(nullptr, &worker_stack_);
    try {
      launch_->thread_body();
    } catch (const ThreadAborted&) {
      // The block failed; failure_ says why.
    } catch (const std::exception& error) {
      record_failure(std::string("thread ") + describe(thread.coordinates.thread_idx) + " threw: " + error.what());
    } catch (...) {
      record_failure("thread " + describe(thread.coordinates.thread_idx) + " threw an unknown exception");
    }
    thread.state = ThreadState::Exited;
    start_fiber_switch(nullptr, worker_stack_);
    return std::move(thread.scheduler);
  }

  void yield(EmulatedThread& thread) {
    start_fiber_switch(&thread.fake_stack, worker_stack_);
    thread.scheduler = std::move(thread.scheduler).resume();
    finish_fiber_switch(thread.fake_stack);
    if (aborting_) throw ThreadAborted{};
  }

  void record_failure(std::string why) {
    if (failure_.empty()) failure_ = std::move(why);
  }

  [[noreturn]] void fail(std::string why) {
    record_failure(std::move(why));
    throw ThreadAborted{};
  }

  // Lets every suspended thread unwind its stack (ThreadAborted from yield).
  void abort_suspended() {
    aborting_ = true;
    for (EmulatedThread& thread : threads_) {
      if (thread.context) resume(thread);
    }
    aborting_ = false;
  }

  const GridLaunch* launch_ = nullptr;
  std::byte* dynamic_shared_ = nullptr;
  std::vector<unsigned> block_order_;
  std::vector<EmulatedThread> threads_;
  std::vector<unsigned> queue_;
  std::size_t head_ = 0;
  SeedSequence order_{0};
  EmulatedThread* current_ = nullptr;
  StackPool stacks_;
  std::string failure_;
  bool aborting_ = false;
  void* scheduler_fake_stack_ = nullptr;
  FiberStack worker_stack_{};
};

BlockRunner& this_thread_runner() {
  // One per stream worker; never destroyed with the thread's other state
  // before its last kernel, since workers outlive every launch they run.
  thread_local BlockRunner runner;
  return runner;
}

BlockRunner& active() {
  if (active_runner == nullptr) {
    std::fputs("redes CUDA emulation: a device built-in or intrinsic was used outside a kernel\n", stderr);
    std::abort();
  }
  return *active_runner;
}

}  // namespace

std::string run_grid(const GridLaunch& launch) { return this_thread_runner().run_grid(launch); }

void* dynamic_shared_memory() { return active().dynamic_shared(); }

void block_barrier() { active().block_barrier(); }

std::uint64_t warp_exchange(WarpOp op, unsigned mask, std::uint64_t value, int operand, int width) {
  return active().warp_exchange(op, mask, value, operand, width);
}

}  // namespace redes::cuda_emulation

thread_local uint3 threadIdx{};
thread_local uint3 blockIdx{};
thread_local dim3 blockDim{};
thread_local dim3 gridDim{};
