#include "train/dist/collective_queue.h"

#include <iostream>

#include "core/error.h"

namespace redes::dist {

CollectiveQueue::CollectiveQueue(std::function<std::unique_ptr<detail::HostBackend>()> make_backend,
                                 std::chrono::milliseconds timeout)
    : timeout_(timeout) {
  thread_ = std::thread([this, make = std::move(make_backend)]() mutable { run(std::move(make)); });
  std::unique_lock lock(mutex_);
  wake_.wait(lock, [&] { return started_; });
  if (start_error_) {
    lock.unlock();
    thread_.join();
    std::rethrow_exception(start_error_);
  }
}

CollectiveQueue::~CollectiveQueue() {
  {
    std::unique_lock lock(mutex_);
    closing_ = true;
    wake_.notify_all();
    // Collectives still queued must finish first; one that cannot (another
    // rank died or never calls it) would hang the process at exit.
    if (started_ && !start_error_ && !wake_.wait_for(lock, timeout_, [&] { return pending_.empty() && !running_; })) {
      std::cerr << "redes::dist: rank " << rank_ << " of " << world_size_ << ": collectives submitted before "
                << "finalize() did not complete within " << std::chrono::duration<double>(timeout_).count()
                << " s; another rank died or stopped calling them. Ending the job" << std::endl;
      backend_->abort(3);
    }
  }
  if (thread_.joinable()) thread_.join();
}

void CollectiveQueue::run(std::function<std::unique_ptr<detail::HostBackend>()> make_backend) {
  try {
    backend_ = make_backend();
    rank_ = backend_->rank();
    world_size_ = backend_->world_size();
    local_rank_ = backend_->local_rank();
  } catch (...) {
    start_error_ = std::current_exception();
  }
  {
    std::lock_guard lock(mutex_);
    started_ = true;
  }
  wake_.notify_all();
  if (start_error_) return;
  for (;;) {
    std::shared_ptr<Work::State> work;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return closing_ || !pending_.empty(); });
      if (pending_.empty()) break;  // closing, and everything submitted has run
      work = std::move(pending_.front());
      pending_.pop_front();
      running_ = true;
    }
    const auto start = std::chrono::steady_clock::now();
    std::exception_ptr error;
    try {
      work->job(*backend_);
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard lock(work->mutex);
      work->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      work->error = error;
      work->done = true;
      work->job = nullptr;
    }
    work->done_signal.notify_all();
    {
      std::lock_guard lock(mutex_);
      running_ = false;
    }
    wake_.notify_all();  // a destructor may be waiting for the queue to drain
  }
  backend_->finalize();
}

std::shared_ptr<Work::State> CollectiveQueue::submit(std::string what, std::function<void(detail::HostBackend&)> job,
                                                     std::function<void()> finish) {
  auto work = std::make_shared<Work::State>();
  work->what = std::move(what);
  work->job = std::move(job);
  work->finish = std::move(finish);
  work->queue = this;
  {
    std::lock_guard lock(mutex_);
    REDES_CHECK(!closing_, "redes::dist: ", work->what, " after finalize()");
    pending_.push_back(work);
  }
  wake_.notify_all();
  return work;
}

void CollectiveQueue::wait(Work::State& state) {
  {
    std::unique_lock lock(state.mutex);
    if (!state.done_signal.wait_for(lock, timeout_, [&] { return state.done; })) {
      // A rank died, stopped, or called another collective: nothing on this
      // side can recover the collective, and waiting on would hang the job.
      std::cerr << "redes::dist: rank " << rank_ << " of " << world_size_ << ": " << state.what
                << " did not complete within " << std::chrono::duration<double>(timeout_).count()
                << " s; another rank died, stopped, or called a different collective. Ending the job"
                << " (REDES_DIST_TIMEOUT sets the limit in seconds)" << std::endl;
      backend_->abort(3);
    }
    if (state.error) std::rethrow_exception(state.error);
    if (state.finished) return;
    state.finished = true;
  }
  if (state.finish) state.finish();
}

}  // namespace redes::dist
