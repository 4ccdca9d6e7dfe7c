// The communication thread: collectives run on it one at a time, in the
// order they were submitted, which is what keeps the ranks of a job in step
// (every rank submits the same collectives in the same order). The caller
// computes meanwhile and waits on a Work, with a watchdog: a collective that
// does not finish within the timeout ends the job with a message instead of
// hanging it.
#pragma once

#include <chrono>
#include <cstdlib>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "train/dist/dist.h"
#include "train/dist/host_backend.h"

namespace redes::dist {

struct Work::State {
  std::string what;  // "all_reduce of 1048576 float32", for the watchdog's message
  std::function<void(detail::HostBackend&)> job;
  // Run by wait() on the waiting thread after the job: copies a staged
  // result back, divides an average.
  std::function<void()> finish;
  std::mutex mutex;
  std::condition_variable done_signal;
  bool done = false;
  bool finished = false;  // finish ran
  std::exception_ptr error;
  double seconds = 0;
  class CollectiveQueue* queue = nullptr;
};

class CollectiveQueue {
 public:
  // Starts the thread, which makes the backend (MPI_Init runs there, so that
  // one thread makes every MPI call); rethrows a failure to make it.
  CollectiveQueue(std::function<std::unique_ptr<detail::HostBackend>()> make_backend,
                  std::chrono::milliseconds timeout);
  // Finalises the backend and joins the thread.
  ~CollectiveQueue();
  CollectiveQueue(const CollectiveQueue&) = delete;
  CollectiveQueue& operator=(const CollectiveQueue&) = delete;

  std::shared_ptr<Work::State> submit(std::string what, std::function<void(detail::HostBackend&)> job,
                                      std::function<void()> finish = {});
  // Waits for the collective and runs its finish step; ends the job when the
  // timeout passes first. Rethrows the collective's failure.
  void wait(Work::State& state);

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  int local_rank() const { return local_rank_; }
  std::chrono::milliseconds timeout() const { return timeout_; }
  [[noreturn]] void abort(int code) {
    backend_->abort(code);
    std::_Exit(code);  // abort() does not return
  }

 private:
  void run(std::function<std::unique_ptr<detail::HostBackend>()> make_backend);

  std::chrono::milliseconds timeout_;
  std::unique_ptr<detail::HostBackend> backend_;
  int rank_ = 0, world_size_ = 1, local_rank_ = 0;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Work::State>> pending_;
  bool closing_ = false;
  bool running_ = false;  // a collective is in progress on the thread
  std::exception_ptr start_error_;
  bool started_ = false;
  std::thread thread_;
};

}  // namespace redes::dist
