// Micro-benchmarks of the frame codec's hot loops: unmasking (RFC 6455 §5.3), UTF-8
// validation (§8.1) and header decoding (§5.2), each beside memcpy of the same buffer so
// the numbers read as a fraction of what the memory system can do.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <string_view>

#include "frame.hpp"
#include "mask.hpp"
#include "message.hpp"
#include "utf8.hpp"

namespace {

constexpr std::int64_t kSmall = std::int64_t{4} * 1024;
constexpr std::int64_t kLarge = std::int64_t{1024} * 1024;
const ws::MaskingKey kKey = {0x37, 0xfa, 0x21, 0x3d};

std::size_t size_of(const benchmark::State& state) {
  return static_cast<std::size_t>(state.range(0));
}

void set_bytes(benchmark::State& state, std::size_t bytes_per_iteration) {
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes_per_iteration));
}

/// Text of exactly `size` bytes in which `multibyte_percent` of the code points take 2, 3
/// or 4 bytes (Latin accents, CJK, emoji) and the rest are ASCII.
std::string mixed_text(std::size_t size, int multibyte_percent) {
  std::mt19937 rng(2024);
  std::uniform_int_distribution<int> percent(0, 99);
  std::uniform_int_distribution<int> width(2, 4);
  std::string text;
  text.reserve(size);
  while (text.size() < size) {
    const std::size_t room = size - text.size();
    if (percent(rng) >= multibyte_percent || room < 4) {
      text += static_cast<char>('a' + percent(rng) % 26);
      continue;
    }
    switch (width(rng)) {
      case 2:
        text += "\xC3\xA9";  // é
        break;
      case 3:
        text += "\xE6\xBC\xA2";  // 漢
        break;
      default:
        text += "\xF0\x9F\x98\x80";  // 😀
        break;
    }
  }
  return text;
}

void BM_Memcpy(benchmark::State& state) {
  const std::string source(size_of(state), 'm');
  std::string target(size_of(state), '\0');
  for (auto _ : state) {
    std::memcpy(target.data(), source.data(), source.size());
    benchmark::ClobberMemory();
  }
  set_bytes(state, source.size());
}
BENCHMARK(BM_Memcpy)->Arg(kSmall)->Arg(kLarge);

void BM_ApplyMaskSimple(benchmark::State& state) {
  std::string data(size_of(state), 'm');
  std::size_t key_offset = 0;
  for (auto _ : state) {
    key_offset = ws::apply_mask_simple(data, kKey, key_offset);
    benchmark::ClobberMemory();
  }
  benchmark::DoNotOptimize(key_offset);
  set_bytes(state, data.size());
}
BENCHMARK(BM_ApplyMaskSimple)->Arg(kSmall)->Arg(kLarge);

void BM_ApplyMask(benchmark::State& state) {
  std::string data(size_of(state), 'm');
  std::size_t key_offset = 0;
  for (auto _ : state) {
    key_offset = ws::apply_mask(data, kKey, key_offset);
    benchmark::ClobberMemory();
  }
  benchmark::DoNotOptimize(key_offset);
  set_bytes(state, data.size());
}
BENCHMARK(BM_ApplyMask)->Arg(kSmall)->Arg(kLarge);

void BM_ApplyMaskUnaligned(benchmark::State& state) {
  // One byte in, with a key offset of 3: the worst case for a word-at-a-time loop.
  std::string data(size_of(state) + 1, 'm');
  const std::span<char> span = std::span<char>(data).subspan(1);
  for (auto _ : state) {
    benchmark::DoNotOptimize(ws::apply_mask(span, kKey, 3));
    benchmark::ClobberMemory();
  }
  set_bytes(state, span.size());
}
BENCHMARK(BM_ApplyMaskUnaligned)->Arg(kSmall)->Arg(kLarge);

void BM_Utf8Ascii(benchmark::State& state) {
  const std::string text = mixed_text(size_of(state), 0);
  for (auto _ : state) {
    benchmark::DoNotOptimize(ws::is_valid_utf8(text));
  }
  set_bytes(state, text.size());
}
BENCHMARK(BM_Utf8Ascii)->Arg(kSmall)->Arg(kLarge);

void BM_Utf8Mixed30(benchmark::State& state) {
  const std::string text = mixed_text(size_of(state), 30);
  if (!ws::is_valid_utf8(text)) {
    state.SkipWithError("generated text is not valid UTF-8");
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(ws::is_valid_utf8(text));
  }
  set_bytes(state, text.size());
}
BENCHMARK(BM_Utf8Mixed30)->Arg(kSmall)->Arg(kLarge);

void BM_DecodeFrameHeader(benchmark::State& state) {
  // A masked client frame header with a 64-bit length: the longest header, 14 bytes.
  const std::string frame_start =
      ws::encode_frame(ws::Opcode::kBinary, std::string(70000, 'x'), true, kKey).substr(0, 14);
  ws::FrameHeader header;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ws::decode_frame_header(frame_start, header));
    benchmark::DoNotOptimize(header);
  }
  set_bytes(state, frame_start.size());
}
BENCHMARK(BM_DecodeFrameHeader);

void BM_MessageReaderMaskedText(benchmark::State& state) {
  // End to end: header, unmask into the message buffer, UTF-8 check, hand over the message.
  const std::string frame =
      ws::encode_frame(ws::Opcode::kText, mixed_text(size_of(state), 0), true, kKey);
  for (auto _ : state) {
    ws::MessageReader reader(ws::Role::kServer, {});
    auto result = reader.read(frame);
    benchmark::DoNotOptimize(result);
  }
  set_bytes(state, frame.size());
}
BENCHMARK(BM_MessageReaderMaskedText)->Arg(kSmall)->Arg(kLarge);

}  // namespace

BENCHMARK_MAIN();
