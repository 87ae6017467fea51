// H2Client and the HTTP/2 frame and HPACK builders of integration/harness/h2_frames.h.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <utility>

#include "integration/harness/h2_frames.h"

namespace remora::harness::h2 {
namespace {

void putUint32(std::string& out, uint32_t value) {
  out += static_cast<char>((value >> 24) & 0xff);
  out += static_cast<char>((value >> 16) & 0xff);
  out += static_cast<char>((value >> 8) & 0xff);
  out += static_cast<char>(value & 0xff);
}

uint32_t getUint32(std::string_view in, size_t at) {
  if (in.size() < at + 4) return 0;
  auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(in[at + i])); };
  return (byte(0) << 24) | (byte(1) << 16) | (byte(2) << 8) | byte(3);
}

std::string hex(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof(text), "0x%x", value);
  return text;
}

}  // namespace

// --- Frame ---

uint32_t Frame::errorCode() const {
  if (type == kRstStream) return getUint32(payload, 0);
  if (type == kGoaway) return getUint32(payload, 4);
  return 0;
}

uint32_t Frame::lastStreamId() const {
  return type == kGoaway ? getUint32(payload, 0) & 0x7fffffff : 0;
}

Settings Frame::settings() const {
  Settings out;
  if (type != kSettings) return out;
  for (size_t at = 0; at + 6 <= payload.size(); at += 6) {
    const auto id = static_cast<uint16_t>((static_cast<uint8_t>(payload[at]) << 8) |
                                          static_cast<uint8_t>(payload[at + 1]));
    out.emplace_back(id, getUint32(payload, at + 2));
  }
  return out;
}

std::optional<uint32_t> Frame::setting(uint16_t id) const {
  for (const auto& [key, value] : settings()) {
    if (key == id) return value;
  }
  return std::nullopt;
}

std::optional<std::string> Frame::field(std::string_view name) const {
  for (const auto& [key, value] : fields) {
    if (key == name) return value;
  }
  return std::nullopt;
}

int Frame::status() const {
  std::optional<std::string> text = field(":status");
  return text ? std::atoi(text->c_str()) : 0;
}

std::string typeName(uint8_t type) {
  static const char* const kNames[] = {"DATA",          "HEADERS",      "PRIORITY", "RST_STREAM",
                                       "SETTINGS",      "PUSH_PROMISE", "PING",     "GOAWAY",
                                       "WINDOW_UPDATE", "CONTINUATION"};
  return type < std::size(kNames) ? kNames[type] : "type " + hex(type);
}

std::string describe(const Frame& frame) {
  std::string out = typeName(frame.type) + " stream=" + std::to_string(frame.stream) +
                    " flags=" + hex(frame.flags) +
                    " length=" + std::to_string(frame.payload.size());
  if (frame.type == kRstStream) out += " error=" + hex(frame.errorCode());
  if (frame.type == kGoaway) {
    out +=
        " last_stream=" + std::to_string(frame.lastStreamId()) + " error=" + hex(frame.errorCode());
    if (frame.payload.size() > 8) out += " debug=\"" + frame.payload.substr(8) + "\"";
  }
  if (frame.type == kSettings) {
    for (const auto& [id, value] : frame.settings()) {
      out += " " + std::to_string(id) + "=" + std::to_string(value);
    }
  }
  if (frame.type == kHeaders) {
    for (const auto& [name, value] : frame.fields) out += " " + name + ": " + value;
  }
  return out;
}

// --- Builders ---

std::string frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload) {
  std::string out;
  out.reserve(9 + payload.size());
  const auto length = static_cast<uint32_t>(payload.size());
  out += static_cast<char>((length >> 16) & 0xff);
  out += static_cast<char>((length >> 8) & 0xff);
  out += static_cast<char>(length & 0xff);
  out += static_cast<char>(type);
  out += static_cast<char>(flags);
  putUint32(out, stream & 0x7fffffff);
  out += payload;
  return out;
}

std::string headersFrame(uint32_t stream, std::string_view block, uint8_t flags) {
  return frame(kHeaders, flags, stream, block);
}

std::string continuationFrame(uint32_t stream, std::string_view block, uint8_t flags) {
  return frame(kContinuation, flags, stream, block);
}

std::string dataFrame(uint32_t stream, std::string_view data, bool end_stream) {
  return frame(kData, end_stream ? kEndStream : 0, stream, data);
}

std::string rstStreamFrame(uint32_t stream, uint32_t error_code) {
  std::string payload;
  putUint32(payload, error_code);
  return frame(kRstStream, 0, stream, payload);
}

std::string pingFrame(uint64_t opaque, bool ack) {
  std::string payload;
  putUint32(payload, static_cast<uint32_t>(opaque >> 32));
  putUint32(payload, static_cast<uint32_t>(opaque));
  return frame(kPing, ack ? kAck : 0, 0, payload);
}

std::string settingsFrame(const Settings& settings) {
  std::string payload;
  for (const auto& [id, value] : settings) {
    payload += static_cast<char>(id >> 8);
    payload += static_cast<char>(id & 0xff);
    putUint32(payload, value);
  }
  return frame(kSettings, 0, 0, payload);
}

std::string settingsAckFrame() { return frame(kSettings, kAck, 0, {}); }

std::string windowUpdateFrame(uint32_t stream, uint32_t increment) {
  std::string payload;
  putUint32(payload, increment & 0x7fffffff);
  return frame(kWindowUpdate, 0, stream, payload);
}

std::string getRequest(uint32_t stream, std::string_view path, const HeaderList& extra) {
  return headersFrame(stream, requestBlock(path, "localhost", extra), kEndHeaders | kEndStream);
}

// --- HPACK ---

std::string hpackInteger(uint64_t value, int prefix_bits, uint8_t first_byte_flags) {
  // RFC 7541 5.1: the value fits the prefix, or the prefix is all ones and the rest follows in
  // 7-bit groups, least significant first.
  const uint64_t max_prefix = (uint64_t{1} << prefix_bits) - 1;
  std::string out;
  if (value < max_prefix) {
    out += static_cast<char>(first_byte_flags | value);
    return out;
  }
  out += static_cast<char>(first_byte_flags | max_prefix);
  value -= max_prefix;
  while (value >= 128) {
    out += static_cast<char>((value & 0x7f) | 0x80);
    value >>= 7;
  }
  out += static_cast<char>(value);
  return out;
}

std::string hpackString(std::string_view text) {
  return hpackInteger(text.size(), 7, 0x00) + std::string(text);
}

std::string hpackLiteral(std::string_view name, std::string_view value) {
  return std::string(1, '\0') + hpackString(name) + hpackString(value);
}

std::string requestBlock(std::string_view path, std::string_view authority, const HeaderList& extra,
                         std::string_view method) {
  // Static table indexes (RFC 7541 appendix A): 1 :authority, 2 :method GET, 3 :method POST,
  // 4 :path /, 6 :scheme http. Literals without indexing leave the server's table untouched.
  std::string block;
  if (method == "GET") {
    block += '\x82';
  } else if (method == "POST") {
    block += '\x83';
  } else {
    block += hpackInteger(2, 4, 0x00) + hpackString(method);
  }
  block += '\x86';
  if (path == "/") {
    block += '\x84';
  } else {
    block += hpackInteger(4, 4, 0x00) + hpackString(path);
  }
  block += hpackInteger(1, 4, 0x00) + hpackString(authority);
  for (const auto& [name, value] : extra) block += hpackLiteral(name, value);
  return block;
}

// --- H2Client ---

H2Client::H2Client() { nghttp2_hd_inflate_new(&inflater_); }

H2Client::~H2Client() { nghttp2_hd_inflate_del(inflater_); }

bool H2Client::connect(uint16_t port, const Settings& settings, Deadline deadline) {
  socket_ = Socket::connectTo(port, deadline);
  if (!socket_.valid()) {
    error_ = socket_.error();
    return false;
  }
  return send(std::string(kClientPreface) + settingsFrame(settings), deadline);
}

bool H2Client::send(std::string_view bytes, Deadline deadline) {
  if (socket_.sendAll(bytes, deadline)) return true;
  error_ = socket_.error();
  if (socket_.status() == IoStatus::Error) closed_ = true;
  return false;
}

std::optional<Frame> readRawFrame(Socket& socket, Deadline deadline) {
  std::optional<std::string> header = socket.readExactly(9, deadline);
  if (!header) return std::nullopt;
  const size_t length = (static_cast<size_t>(static_cast<uint8_t>((*header)[0])) << 16) |
                        (static_cast<size_t>(static_cast<uint8_t>((*header)[1])) << 8) |
                        static_cast<uint8_t>((*header)[2]);
  std::optional<std::string> payload = socket.readExactly(length, deadline);
  if (!payload) return std::nullopt;
  Frame frame;
  frame.type = static_cast<uint8_t>((*header)[3]);
  frame.flags = static_cast<uint8_t>((*header)[4]);
  frame.stream = getUint32(*header, 5) & 0x7fffffff;
  frame.payload = std::move(*payload);
  return frame;
}

std::optional<Frame> H2Client::readFrame(Deadline deadline) {
  if (closed_) return std::nullopt;
  std::optional<Frame> read = readRawFrame(socket_, deadline);
  if (!read) {
    error_ = socket_.error();
    // A reset counts as a close: the server may close with the client's bytes still unread.
    if (socket_.status() == IoStatus::Eof || socket_.status() == IoStatus::Error) closed_ = true;
    return std::nullopt;
  }
  Frame frame = std::move(*read);
  if (frame.type == kHeaders) {
    std::string_view fragment = frame.payload;
    size_t pad = 0;
    if (frame.has(kPadded) && !fragment.empty()) {
      pad = static_cast<uint8_t>(fragment[0]);
      fragment.remove_prefix(1);
    }
    if (frame.has(kPriorityFlag)) fragment.remove_prefix(std::min<size_t>(5, fragment.size()));
    fragment.remove_suffix(std::min(pad, fragment.size()));
    decodeBlock(frame, fragment, frame.has(kEndHeaders));
  } else if (frame.type == kContinuation) {
    decodeBlock(frame, frame.payload, frame.has(kEndHeaders));
  } else if (frame.type == kSettings && !frame.has(kAck) && auto_ack_settings_) {
    send(settingsAckFrame(), deadline);
  }
  frames_.push_back(frame);
  return frame;
}

void H2Client::decodeBlock(Frame& frame, std::string_view fragment, bool end_headers) {
  pending_block_ += fragment;
  if (!end_headers) return;
  const auto* in = reinterpret_cast<const uint8_t*>(pending_block_.data());
  size_t left = pending_block_.size();
  while (true) {
    nghttp2_nv nv;
    int inflate_flags = 0;
    const ssize_t used = nghttp2_hd_inflate_hd2(inflater_, &nv, &inflate_flags, in, left, 1);
    if (used < 0) {
      error_ = std::string("HPACK: ") + nghttp2_strerror(static_cast<int>(used));
      break;
    }
    in += used;
    left -= static_cast<size_t>(used);
    if ((inflate_flags & NGHTTP2_HD_INFLATE_EMIT) != 0) {
      frame.fields.emplace_back(std::string(reinterpret_cast<const char*>(nv.name), nv.namelen),
                                std::string(reinterpret_cast<const char*>(nv.value), nv.valuelen));
    }
    if ((inflate_flags & NGHTTP2_HD_INFLATE_FINAL) != 0) {
      nghttp2_hd_inflate_end_headers(inflater_);
      break;
    }
    if ((inflate_flags & NGHTTP2_HD_INFLATE_EMIT) == 0 && left == 0) break;
  }
  pending_block_.clear();
}

std::optional<Frame> H2Client::readUntil(const std::function<bool(const Frame&)>& match,
                                         Deadline deadline) {
  while (std::optional<Frame> next = readFrame(deadline)) {
    if (match(*next)) return next;
  }
  return std::nullopt;
}

std::optional<Frame> H2Client::waitGoaway(Deadline deadline) {
  return readUntil([](const Frame& f) { return f.type == kGoaway; }, deadline);
}

bool H2Client::waitClosed(Deadline deadline) {
  while (readFrame(deadline)) {
  }
  return closed_;
}

std::string H2Client::describeFrames() const {
  std::string out;
  for (const Frame& f : frames_) out += "\n  " + describe(f);
  if (closed_) out += "\n  (closed: " + error_ + ")";
  return out.empty() ? " (no frames)" : out;
}

}  // namespace remora::harness::h2
