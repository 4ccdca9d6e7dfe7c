// CUDA streams and events, in every build. Where CUDA cannot be used (a
// build without the backend, a machine without a driver or GPU), creating a
// Stream or an Event throws a redes::Error saying why.
//
// Each device has a default stream, created on first use, that does not
// synchronise with the legacy NULL stream other libraries may use. Ops on a
// device enqueue on the calling thread's current stream for that device:
// the default stream, unless a StreamGuard (or Stream::set_current) says
// otherwise. Work on different streams is unordered: order it with events
// (`Event e; e.record(producer); consumer.wait(e);`), and keep a tensor used
// on a second stream alive until that stream's work is done (its memory is
// reused in the order of the stream that allocated it).
#pragma once

#include <memory>

#include "core/export.h"

namespace redes::cuda {

class Event;

// A handle to a CUDA stream; copies share the stream. A stream made by
// create() is destroyed with its last handle, after its work has finished.
class REDES_API Stream {
 public:
  // A new stream on `device` (non-blocking with respect to the NULL stream).
  static Stream create(int device = 0);
  // The device's default stream.
  static Stream default_stream(int device = 0);
  // The stream this thread's ops on `device` enqueue on now.
  static Stream current(int device = 0);
  // Makes `stream` the current stream of its device for the calling thread
  // (StreamGuard does this for a scope).
  static void set_current(const Stream& stream);

  int device() const;
  void* handle() const;  // the cudaStream_t
  // Waits until all work queued on the stream has finished.
  void synchronize() const;
  // True when all work queued on the stream has finished (does not wait).
  bool query() const;
  // Work queued on this stream from now on waits for `event` (recorded on
  // any stream of the same device); the host does not wait.
  void wait(const Event& event) const;

  friend bool operator==(const Stream& a, const Stream& b) { return a.handle() == b.handle(); }

  struct State;  // defined by the runtime

 private:
  explicit Stream(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

// Makes a stream current for its device on this thread while the guard
// lives, then restores the stream that was current before.
class REDES_API StreamGuard {
 public:
  explicit StreamGuard(const Stream& stream);
  ~StreamGuard();
  StreamGuard(const StreamGuard&) = delete;
  StreamGuard& operator=(const StreamGuard&) = delete;

 private:
  Stream previous_;
};

// A CUDA event on one device; copies share the event. Timing costs a little
// on every record, so it is enabled only when asked for.
class REDES_API Event {
 public:
  explicit Event(int device = 0, bool enable_timing = false);

  int device() const;
  bool timing_enabled() const;
  // Marks the point in `stream`'s queue that synchronize/query/wait refer to;
  // the stream must be on the event's device.
  void record(const Stream& stream);
  // Records on the current stream of the event's device.
  void record();
  // Waits until the work before the last record has finished (at once if the
  // event was never recorded, as in CUDA).
  void synchronize() const;
  // True when that work has finished (or the event was never recorded).
  bool query() const;
  // Milliseconds from this event to `end`, both recorded with timing enabled;
  // waits for `end` first.
  float elapsed_ms(const Event& end) const;

  struct State;  // defined by the runtime

 private:
  friend class Stream;  // Stream::wait reads the event's handle
  std::shared_ptr<State> state_;
};

}  // namespace redes::cuda
