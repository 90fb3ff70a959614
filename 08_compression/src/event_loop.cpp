// An event loop: epoll, a task queue woken through an eventfd, and a heap of timers.
#include "event_loop.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <stdexcept>
#include <string>

namespace ws {

namespace {

// The descriptors one epoll_wait reports at most; more wait for the next pass.
constexpr int kMaxEvents = 256;

}  // namespace

EventLoop::EventLoop()
    : epoll_(::epoll_create1(EPOLL_CLOEXEC)), wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!epoll_.valid() || !wake_.valid()) {
    throw std::runtime_error("event loop: " + error_text(errno));
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = nullptr;  // the wake-up is the only descriptor without a handler
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &event);
}

void EventLoop::watch(int fd, std::uint32_t events, Handler& handler) {
  epoll_event event{};
  event.events = events;
  event.data.ptr = &handler;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0) {
    throw std::runtime_error("epoll_ctl: " + error_text(errno));
  }
}

void EventLoop::change(int fd, std::uint32_t events, Handler& handler) {
  epoll_event event{};
  event.events = events;
  event.data.ptr = &handler;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &event);
}

void EventLoop::forget(int fd) { ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr); }

void EventLoop::post(Task task) {
  bool was_empty = false;
  {
    const std::lock_guard lock(tasks_mutex_);
    was_empty = tasks_.empty();
    tasks_.push_back(std::move(task));
  }
  if (was_empty) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(wake_.get(), &one, sizeof one);
  }
}

void EventLoop::wake_at(Deadline when, std::uint64_t key) { timers_.push({when, key}); }

void EventLoop::run_tasks() {
  // The wake-up is cleared before the queue is taken, never after: a task posted in between
  // finds the queue empty and wakes the loop again, where clearing afterwards would lose it.
  std::uint64_t count = 0;
  [[maybe_unused]] const auto read = ::read(wake_.get(), &count, sizeof count);
  std::vector<Task> tasks;
  {
    const std::lock_guard lock(tasks_mutex_);
    tasks.swap(tasks_);
  }
  for (Task& task : tasks) {
    task();
  }
}

void EventLoop::wait_and_dispatch(Clock::duration max_wait,
                                  const std::function<void(std::uint64_t key)>& on_timer) {
  Clock::duration wait = max_wait;
  if (!timers_.empty()) {
    wait = std::min(wait, std::max(Clock::duration::zero(), timers_.top().when - Clock::now()));
  }
  // Rounded up: waking a millisecond early would find the timer not yet due and spin.
  const auto milliseconds = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
  std::array<epoll_event, kMaxEvents> events{};
  const int ready = ::epoll_wait(epoll_.get(), events.data(), kMaxEvents,
                                 static_cast<int>(std::min<std::int64_t>(milliseconds, 60'000)));
  bool woken = false;
  for (int i = 0; i < ready; ++i) {
    woken = woken || events.at(static_cast<std::size_t>(i)).data.ptr == nullptr;
  }
  if (woken) {
    run_tasks();
  }
  for (int i = 0; i < ready; ++i) {
    const epoll_event& event = events.at(static_cast<std::size_t>(i));
    if (event.data.ptr != nullptr) {
      static_cast<Handler*>(event.data.ptr)->on_ready(event.events);
    }
  }
  const Deadline now = Clock::now();
  while (!timers_.empty() && timers_.top().when <= now) {
    const std::uint64_t key = timers_.top().key;
    timers_.pop();
    on_timer(key);
  }
}

}  // namespace ws
