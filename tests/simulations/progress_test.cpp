// Tests for the terminal progress bar: rendering, and that it stays quiet for short runs and pipes.
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "simulations/progress.h"

using namespace platoon::sim;

TEST_CASE("the progress line shows the bar, percentage, counts and ETA") {
  CHECK(ProgressBar::Render("openb", 300, 1000, 10, 3.0) == "openb [###.......]  30% 300/1000 ETA 7s");
  CHECK(ProgressBar::Render("x", 1000, 1000, 4, 9.0) == "x [####] 100% 1000/1000");
  CHECK(ProgressBar::Render("x", 0, 0, 4, 0.0) == "x [####] 100% 0/0");
}

namespace {
struct FakeClock {
  ProgressBar::Clock::time_point t{};
  void Advance(int ms) { t += std::chrono::milliseconds(ms); }
};

std::string Capture(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  char buf[256];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  return s;
}
}  // namespace

TEST_CASE("the bar appears only after a few seconds, and only on a terminal") {
  FakeClock clock;
  std::FILE* out = std::tmpfile();
  REQUIRE(out != nullptr);
  ProgressBar::Options opt;
  opt.out = out;
  opt.tty = 1;
  opt.width = 4;
  opt.now = [&] { return clock.t; };
  {
    ProgressBar bar("run", 100, opt);
    bar.Update(10);
    clock.Advance(1000);
    bar.Update(20);
    CHECK_FALSE(bar.Shown());
    clock.Advance(2500);
    bar.Update(50);
    CHECK(bar.Shown());
    clock.Advance(10);
    bar.Update(60);  // within min_interval: not redrawn
    bar.Update(100);
  }
  const std::string text = Capture(out);
  CHECK(text == "\rrun [##..]  50% 50/100 ETA 4s\x1b[K\rrun [####] 100% 100/100\x1b[K\n");
  std::fclose(out);

  SUBCASE("never on a pipe or file") {
    std::FILE* file = std::tmpfile();
    ProgressBar::Options quiet;
    quiet.out = file;  // tty = -1: asks isatty, which is false for a file
    quiet.now = [&] { return clock.t; };
    {
      ProgressBar bar("run", 10, quiet);
      clock.Advance(60'000);
      bar.Update(5);
      CHECK_FALSE(bar.Shown());
    }
    CHECK(Capture(file).empty());
    std::fclose(file);
  }
}
