// A terminal progress bar for long simulation runs: stderr, only on a TTY, only after a few seconds.
#include "simulations/progress.h"

#include <unistd.h>

#include <algorithm>

#include "simulations/text_format.h"

namespace platoon::sim {

ProgressBar::ProgressBar(std::string label, std::uint64_t total) : ProgressBar(std::move(label), total, Options{}) {}

ProgressBar::ProgressBar(std::string label, std::uint64_t total, Options options)
    : label_(std::move(label)), total_(total), options_(std::move(options)) {
  enabled_ = options_.tty == 1 || (options_.tty == -1 && options_.out != nullptr && isatty(fileno(options_.out)) == 1);
  start_ = options_.now();
  last_draw_ = start_;
}

ProgressBar::~ProgressBar() { Finish(); }

std::string ProgressBar::Render(const std::string& label, std::uint64_t done, std::uint64_t total, int width,
                                double elapsed_s) {
  const double frac = total == 0 ? 1.0 : std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
  const int filled = static_cast<int>(frac * width);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.append(static_cast<std::size_t>(width - filled), '.');
  std::string eta = "";
  if (frac > 0 && frac < 1) {
    const double remaining = elapsed_s * (1.0 - frac) / frac;
    eta = Format(" ETA {}s", static_cast<std::int64_t>(remaining + 0.5));
  }
  return Format("{} [{}] {:3}% {}/{}{}", label, bar, static_cast<int>(frac * 100), done, total, eta);
}

void ProgressBar::Draw(std::uint64_t done) {
  const double elapsed = std::chrono::duration<double>(options_.now() - start_).count();
  const std::string line = Render(label_, done, total_, options_.width, elapsed);
  std::fprintf(options_.out, "\r%s\x1b[K", line.c_str());
  std::fflush(options_.out);
  shown_ = true;
}

void ProgressBar::Update(std::uint64_t done) {
  done_ = done;
  if (!enabled_ || finished_) return;
  const auto now = options_.now();
  if (now - start_ < options_.show_after) return;
  if (shown_ && now - last_draw_ < options_.min_interval) return;
  last_draw_ = now;
  Draw(done);
}

void ProgressBar::Finish() {
  if (finished_) return;
  finished_ = true;
  if (!shown_) return;
  Draw(done_);
  std::fputc('\n', options_.out);
  std::fflush(options_.out);
}

}  // namespace platoon::sim
