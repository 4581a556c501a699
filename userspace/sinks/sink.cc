#include "sinks/sink.h"

#include <algorithm>

#include "absl/time/clock.h"

namespace permsentry {

Sink::~Sink() { Stop(absl::ZeroDuration()); }

void Sink::Start() { worker_ = std::thread(&Sink::Run, this); }

void Sink::Submit(std::shared_ptr<const AlertRecord> r) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.submitted;
    if (stopping_ || queue_.size() >= options_.queue_max) {
      ++stats_.dropped;
      return;
    }
    queue_.push_back(std::move(r));
  }
  cv_.notify_one();
}

void Sink::Stop(absl::Duration grace) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      stop_deadline_ = absl::Now() + grace;
    }
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  std::lock_guard<std::mutex> lock(mu_);
  stats_.failed += queue_.size();  // undelivered at exit
  queue_.clear();
}

SinkStats Sink::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  SinkStats s = stats_;
  s.queued = queue_.size();
  return s;
}

void Sink::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty() || (stopping_ && absl::Now() >= stop_deadline_)) return;
    std::shared_ptr<const AlertRecord> r = queue_.front();
    absl::Duration backoff = options_.backoff_initial;
    for (int attempt = 1;; ++attempt) {
      lock.unlock();
      const absl::Status s = Deliver(*r);
      lock.lock();
      if (s.ok()) {
        ++stats_.delivered;
        break;
      }
      stats_.last_error = std::string(s.message());
      const bool retry =
          absl::IsUnavailable(s) && (options_.max_attempts == 0 || attempt < options_.max_attempts);
      if (!retry) {
        ++stats_.failed;
        break;
      }
      ++stats_.retries;
      // Wait out the backoff, but not past a stop's deadline.
      const absl::Time until = std::min(absl::Now() + backoff, stop_deadline_);
      cv_.wait_for(lock,
                   absl::ToChronoNanoseconds(std::max(until - absl::Now(), absl::ZeroDuration())),
                   [&] { return stopping_ && absl::Now() >= stop_deadline_; });
      if (stopping_ && absl::Now() >= stop_deadline_) return;
      backoff = std::min(backoff * 2, options_.backoff_max);
    }
    queue_.pop_front();
  }
}

}  // namespace permsentry
