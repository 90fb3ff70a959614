// UTF-8 validation (RFC 3629) for RFC 6455 §5.6 and §8.1, as a small finite automaton.
// Each byte is first sorted into a class, then (state, class) gives the next state.
// An ASCII fast path skips 8 bytes at a time while no sequence is open.
#include "utf8.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>

namespace ws {

namespace {

// RFC 3629 §4 gives the well-formed byte sequences. Written as ranges of bytes:
//
//   code points          byte 1   byte 2   byte 3   byte 4
//   U+0000..U+007F       00..7F
//   U+0080..U+07FF       C2..DF   80..BF
//   U+0800..U+0FFF       E0       A0..BF   80..BF
//   U+1000..U+CFFF       E1..EC   80..BF   80..BF
//   U+D000..U+D7FF       ED       80..9F   80..BF
//   U+E000..U+FFFF       EE..EF   80..BF   80..BF
//   U+10000..U+3FFFF     F0       90..BF   80..BF   80..BF
//   U+40000..U+FFFFF     F1..F3   80..BF   80..BF   80..BF
//   U+100000..U+10FFFF   F4       80..8F   80..BF   80..BF
//
// Only the second byte ever has a range narrower than 80..BF, and only after E0, ED, F0 and
// F4. Those narrow ranges are the whole trick: E0 80..9F would be an overlong 3-byte form of
// a code point that fits in 2 bytes, ED A0..BF would be a UTF-16 surrogate, F0 80..8F an
// overlong 4-byte form, and F4 90..BF a code point above U+10FFFF. C0 and C1 can only start
// overlong 2-byte forms and F5..FF only code points above U+10FFFF, so they never occur.

/// Byte classes: bytes that the table above treats alike share a class.
/// Continuation bytes are split in three (80..8F, 90..9F, A0..BF) because the narrow ranges
/// after E0, ED, F0 and F4 are unions of these pieces.
enum ByteClass : std::uint8_t {
  kAscii,   // 00..7F: a whole code point
  kCont80,  // 80..8F: continuation
  kCont90,  // 90..9F: continuation
  kContA0,  // A0..BF: continuation
  kLead2,   // C2..DF: starts a 2-byte sequence
  kLeadE0,  // E0: starts a 3-byte sequence whose second byte is A0..BF
  kLead3,   // E1..EC, EE..EF: starts a 3-byte sequence
  kLeadED,  // ED: starts a 3-byte sequence whose second byte is 80..9F
  kLeadF0,  // F0: starts a 4-byte sequence whose second byte is 90..BF
  kLead4,   // F1..F3: starts a 4-byte sequence
  kLeadF4,  // F4: starts a 4-byte sequence whose second byte is 80..8F
  kNever,   // C0, C1, F5..FF: never valid
  kClassCount
};

/// States: where we are inside a sequence, named by what must come next.
enum State : std::uint8_t {
  kAccept,   // between code points: the text so far is complete
  kReject,   // an invalid byte was seen; no byte leads out of this state
  kNeed1,    // one more byte 80..BF
  kNeed2,    // two more bytes 80..BF
  kNeed3,    // three more bytes 80..BF
  kAfterE0,  // next A0..BF, then one more
  kAfterED,  // next 80..9F, then one more
  kAfterF0,  // next 90..BF, then two more
  kAfterF4,  // next 80..8F, then two more
  kStateCount
};

using ClassTable = std::array<std::uint8_t, 256>;
using TransitionTable = std::array<std::array<std::uint8_t, kClassCount>, kStateCount>;

constexpr ClassTable make_class_table() {
  ClassTable table{};
  const auto set = [&table](unsigned first, unsigned last, ByteClass byte_class) {
    for (unsigned byte = first; byte <= last; ++byte) {
      table[byte] = byte_class;
    }
  };
  set(0x00, 0x7F, kAscii);
  set(0x80, 0x8F, kCont80);
  set(0x90, 0x9F, kCont90);
  set(0xA0, 0xBF, kContA0);
  set(0xC0, 0xC1, kNever);
  set(0xC2, 0xDF, kLead2);
  set(0xE0, 0xE0, kLeadE0);
  set(0xE1, 0xEC, kLead3);
  set(0xED, 0xED, kLeadED);
  set(0xEE, 0xEF, kLead3);
  set(0xF0, 0xF0, kLeadF0);
  set(0xF1, 0xF3, kLead4);
  set(0xF4, 0xF4, kLeadF4);
  set(0xF5, 0xFF, kNever);
  return table;
}

// The transitions, one line per arrow of the table at the top of this file. Every pair not
// listed leads to kReject, which is also how kReject stays kReject.
constexpr TransitionTable make_transition_table() {
  TransitionTable next{};
  for (auto& row : next) {
    row.fill(kReject);
  }
  next[kAccept][kAscii] = kAccept;
  next[kAccept][kLead2] = kNeed1;
  next[kAccept][kLeadE0] = kAfterE0;
  next[kAccept][kLead3] = kNeed2;
  next[kAccept][kLeadED] = kAfterED;
  next[kAccept][kLeadF0] = kAfterF0;
  next[kAccept][kLead4] = kNeed3;
  next[kAccept][kLeadF4] = kAfterF4;
  for (const ByteClass continuation : {kCont80, kCont90, kContA0}) {
    next[kNeed1][continuation] = kAccept;
    next[kNeed2][continuation] = kNeed1;
    next[kNeed3][continuation] = kNeed2;
  }
  next[kAfterE0][kContA0] = kNeed1;
  next[kAfterED][kCont80] = kNeed1;
  next[kAfterED][kCont90] = kNeed1;
  next[kAfterF0][kCont90] = kNeed2;
  next[kAfterF0][kContA0] = kNeed2;
  next[kAfterF4][kCont80] = kNeed2;
  return next;
}

constexpr ClassTable kClassOf = make_class_table();
constexpr TransitionTable kNextState = make_transition_table();

/// The ASCII fast path reads a machine word at a time.
constexpr std::size_t kWordSize = sizeof(std::uint64_t);

/// True when none of the 8 bytes at `bytes` has its top bit set, i.e. all are ASCII.
bool is_ascii_word(const char* bytes) {
  constexpr std::uint64_t kTopBits = 0x8080808080808080ULL;
  std::uint64_t word = 0;
  // memcpy makes the unaligned load legal; compilers turn it into one instruction.
  std::memcpy(&word, bytes, sizeof word);
  return (word & kTopBits) == 0;
}

}  // namespace

bool Utf8Validator::feed(std::string_view bytes) {
  const char* next = bytes.data();
  const char* const end = next + bytes.size();
  std::uint8_t state = state_;
  while (next != end && state != kReject) {
    if (state == kAccept) {
      // Most text is mostly ASCII, and an ASCII byte between code points leaves the state at
      // kAccept: skip whole words of ASCII without looking at their bytes one by one.
      while (static_cast<std::size_t>(end - next) >= kWordSize && is_ascii_word(next)) {
        next += kWordSize;
      }
    }
    // Run the automaton over the next word's worth of bytes (they hold a non-ASCII byte, or
    // are the last few). kReject never leads anywhere else, so checking for it once per
    // block gives the same answer as checking after every byte, and a loop with no
    // data-dependent branch inside runs faster on non-ASCII text.
    const char* const block_end = next + std::min(static_cast<std::size_t>(end - next), kWordSize);
    for (; next != block_end; ++next) {
      state = kNextState[state][kClassOf[static_cast<std::uint8_t>(*next)]];
    }
  }
  state_ = state;
  return state != kReject;
}

bool Utf8Validator::complete() const { return state_ == kAccept; }

bool Utf8Validator::failed() const { return state_ == kReject; }

void Utf8Validator::reset() { state_ = kAccept; }

bool is_valid_utf8(std::string_view text) {
  Utf8Validator validator;
  return validator.feed(text) && validator.complete();
}

}  // namespace ws
