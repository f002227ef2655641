// A terminal progress bar for long simulation runs: stderr, only on a TTY, only after a few seconds.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

namespace platoon::sim {

class ProgressBar {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    std::FILE* out = stderr;
    // nullopt-like tri-state: -1 ask isatty(out), 0 never draw, 1 always draw (tests).
    int tty = -1;
    std::chrono::milliseconds show_after{3000};  // short runs never show a bar
    std::chrono::milliseconds min_interval{100}; // redraw at most this often
    int width = 30;
    std::function<Clock::time_point()> now = [] { return Clock::now(); };
  };

  ProgressBar(std::string label, std::uint64_t total);
  ProgressBar(std::string label, std::uint64_t total, Options options);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Records progress (done of total); draws when due.
  void Update(std::uint64_t done);
  // Draws the final state (if the bar was ever shown) and ends the line. Idempotent.
  void Finish();
  bool Shown() const { return shown_; }

  // "label [#########.........]  30% 300/1000 ETA 7s" for a width of 20 (no control characters).
  static std::string Render(const std::string& label, std::uint64_t done, std::uint64_t total, int width,
                            double elapsed_s);

 private:
  void Draw(std::uint64_t done);

  std::string label_;
  std::uint64_t total_;
  Options options_;
  bool enabled_;
  bool shown_ = false;
  bool finished_ = false;
  std::uint64_t done_ = 0;
  Clock::time_point start_;
  Clock::time_point last_draw_;
};

}  // namespace platoon::sim
