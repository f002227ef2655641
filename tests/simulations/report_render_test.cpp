// Renders report.html in Debian's headless Chromium and checks that every chart drew.
#include <doctest/doctest.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "report_fixture.h"
#include "simulations/report.h"

using namespace platoon::sim;
namespace fs = std::filesystem;

namespace {

std::string ReadFile(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string Chromium(const fs::path& profile, const std::string& args) {
  // Flags keep Chromium off the network and away from the user's profile.
  return std::string(PLATOON_CHROMIUM) +
         " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
         " --disable-background-networking --disable-component-update --disable-sync"
         " --user-data-dir=" + profile.string() + " --window-size=1400,2000 " + args;
}

std::uint32_t Be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

// Decodes an 8-bit RGB/RGBA, non-interlaced PNG (what Chromium writes) and counts pixels that are
// neither white nor transparent. Returns -1 when the file is not such a PNG.
long InkedPixels(const std::string& png, std::uint32_t* width_out) {
  const auto* d = reinterpret_cast<const unsigned char*>(png.data());
  if (png.size() < 33 || png.compare(1, 3, "PNG") != 0) return -1;
  std::uint32_t width = 0, height = 0;
  int channels = 0;
  std::string idat;
  for (std::size_t pos = 8; pos + 8 <= png.size();) {
    const std::uint32_t len = Be32(d + pos);
    const std::string type = png.substr(pos + 4, 4);
    if (pos + 12 + len > png.size()) return -1;
    if (type == "IHDR") {
      width = Be32(d + pos + 8);
      height = Be32(d + pos + 12);
      const int depth = d[pos + 16], color = d[pos + 17], interlace = d[pos + 20];
      if (depth != 8 || interlace != 0 || (color != 2 && color != 6)) return -1;
      channels = color == 6 ? 4 : 3;
    } else if (type == "IDAT") {
      idat.append(png, pos + 8, len);
    }
    pos += 12 + len;
  }
  if (width == 0 || channels == 0) return -1;
  const std::size_t stride = std::size_t{width} * channels;
  std::vector<unsigned char> raw((stride + 1) * height);
  uLongf raw_len = raw.size();
  if (uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) != Z_OK) return -1;
  std::vector<unsigned char> prev(stride, 0), cur(stride);
  long ink = 0;
  for (std::uint32_t y = 0; y < height; ++y) {
    const unsigned char filter = raw[y * (stride + 1)];
    const unsigned char* in = &raw[y * (stride + 1) + 1];
    for (std::size_t x = 0; x < stride; ++x) {
      const int a = x >= static_cast<std::size_t>(channels) ? cur[x - channels] : 0;
      const int b = prev[x];
      const int c = x >= static_cast<std::size_t>(channels) ? prev[x - channels] : 0;
      int v = in[x];
      switch (filter) {
        case 1: v += a; break;
        case 2: v += b; break;
        case 3: v += (a + b) / 2; break;
        case 4: {
          const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
          v += (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c);
          break;
        }
        default: break;
      }
      cur[x] = static_cast<unsigned char>(v);
    }
    for (std::size_t x = 0; x < stride; x += channels) {
      const bool white = cur[x] > 245 && cur[x + 1] > 245 && cur[x + 2] > 245;
      const bool clear = channels == 4 && cur[x + 3] == 0;
      ink += (!white && !clear) ? 1 : 0;
    }
    prev.swap(cur);
  }
  *width_out = width;
  return ink;
}

}  // namespace

TEST_CASE("report.html renders in headless Chromium and every chart draws") {
  REQUIRE_MESSAGE(std::string(PLATOON_CHROMIUM).find("NOTFOUND") == std::string::npos,
                  "chromium is not installed: run deploy/dev/install-deps.sh");
  const fs::path dir = fs::temp_directory_path() / "platoon-report-render-test";
  fs::remove_all(dir);
  fs::create_directories(dir / "profile-dom");
  fs::create_directories(dir / "profile-png");
  auto written = WriteReport(testing::SampleReport(), (dir / "out").string());
  REQUIRE_MESSAGE(written.has_value(), written.error());
  const std::string url = "file://" + (dir / "out" / "report.html").string();

  const std::string dom_cmd = Chromium(dir / "profile-dom", "--dump-dom " + url) + " > " +
                              (dir / "dom.html").string() + " 2> " + (dir / "dom.log").string();
  REQUIRE(std::system(dom_cmd.c_str()) == 0);
  const std::string dom = ReadFile(dir / "dom.html");
  CHECK(dom.find("<title>platoon report: charts drawn 4/4</title>") != std::string::npos);
  CHECK(dom.find("data-charts-drawn=\"4\"") != std::string::npos);
  CHECK(dom.find("<td>published</td>") != std::string::npos);

  const fs::path png = dir / "report.png";
  const std::string png_cmd = Chromium(dir / "profile-png", "--screenshot=" + png.string() + " " + url) +
                              " > " + (dir / "png.log").string() + " 2>&1";
  REQUIRE(std::system(png_cmd.c_str()) == 0);
  REQUIRE(fs::exists(png));
  std::uint32_t width = 0;
  const long ink = InkedPixels(ReadFile(png), &width);
  CHECK(width == 1400);
  // Four 1300x420 charts with lines, bars, axes and labels ink well over 1 % of the page.
  CHECK(ink > 28'000);
  if (const char* keep = std::getenv("PLATOON_KEEP_REPORT_PNG")) fs::copy_file(png, keep, fs::copy_options::overwrite_existing);
  fs::remove_all(dir);
}
