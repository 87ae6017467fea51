// H2Client: a raw HTTP/2 frame client for abuse tests (floods, resets, malformed sequences that a
// real client library refuses to send), with frame builders, a minimal HPACK encoder for requests
// and a frame reader with deadlines.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "integration/harness/http.h"
#include "integration/harness/socket.h"
#include "integration/harness/wait.h"

namespace remora::harness::h2 {

// RFC 9113 3.4.
inline constexpr std::string_view kClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// Frame types (RFC 9113 6).
inline constexpr uint8_t kData = 0x0;
inline constexpr uint8_t kHeaders = 0x1;
inline constexpr uint8_t kPriority = 0x2;
inline constexpr uint8_t kRstStream = 0x3;
inline constexpr uint8_t kSettings = 0x4;
inline constexpr uint8_t kPushPromise = 0x5;
inline constexpr uint8_t kPing = 0x6;
inline constexpr uint8_t kGoaway = 0x7;
inline constexpr uint8_t kWindowUpdate = 0x8;
inline constexpr uint8_t kContinuation = 0x9;

// Flags.
inline constexpr uint8_t kEndStream = 0x1;
inline constexpr uint8_t kAck = 0x1;
inline constexpr uint8_t kEndHeaders = 0x4;
inline constexpr uint8_t kPadded = 0x8;
inline constexpr uint8_t kPriorityFlag = 0x20;

// Error codes (RFC 9113 7).
inline constexpr uint32_t kNoError = 0x0;
inline constexpr uint32_t kProtocolError = 0x1;
inline constexpr uint32_t kInternalError = 0x2;
inline constexpr uint32_t kFlowControlError = 0x3;
inline constexpr uint32_t kRefusedStream = 0x7;
inline constexpr uint32_t kCancel = 0x8;
inline constexpr uint32_t kCompressionError = 0x9;
inline constexpr uint32_t kEnhanceYourCalm = 0xb;

// SETTINGS identifiers (RFC 9113 6.5.2).
inline constexpr uint16_t kHeaderTableSize = 0x1;
inline constexpr uint16_t kMaxConcurrentStreams = 0x3;
inline constexpr uint16_t kInitialWindowSize = 0x4;
inline constexpr uint16_t kMaxHeaderListSize = 0x6;

using Settings = std::vector<std::pair<uint16_t, uint32_t>>;

struct Frame {
  uint8_t type = 0;
  uint8_t flags = 0;
  uint32_t stream = 0;
  std::string payload;
  // For a HEADERS frame that ends a header block: the decoded fields (of the whole block, when
  // CONTINUATION frames carried part of it).
  HeaderList fields;

  bool has(uint8_t flag) const { return (flags & flag) != 0; }
  uint32_t errorCode() const;     // RST_STREAM or GOAWAY; 0 otherwise
  uint32_t lastStreamId() const;  // GOAWAY
  Settings settings() const;      // SETTINGS
  std::optional<uint32_t> setting(uint16_t id) const;
  std::optional<std::string> field(std::string_view name) const;  // in `fields`
  int status() const;  // :status of a response HEADERS; 0 when absent
};

std::string typeName(uint8_t type);
std::string describe(const Frame& frame);  // "GOAWAY stream=0 flags=0x0 error=0xb", for messages

// --- Frame builders: each returns the bytes of one frame. ---
std::string frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload);
std::string headersFrame(uint32_t stream, std::string_view block, uint8_t flags);
std::string continuationFrame(uint32_t stream, std::string_view block, uint8_t flags);
std::string dataFrame(uint32_t stream, std::string_view data, bool end_stream);
std::string rstStreamFrame(uint32_t stream, uint32_t error_code);
std::string pingFrame(uint64_t opaque, bool ack = false);
std::string settingsFrame(const Settings& settings);
std::string settingsAckFrame();
std::string windowUpdateFrame(uint32_t stream, uint32_t increment);
// A GET (with END_HEADERS | END_STREAM) for `path`, in one HEADERS frame.
std::string getRequest(uint32_t stream, std::string_view path = "/", const HeaderList& extra = {});

// The next frame on `socket`, its header block left undecoded (`fields` empty): for scripted
// HTTP/2 upstreams. nullopt on close, error or the deadline (see socket.status()).
std::optional<Frame> readRawFrame(Socket& socket, Deadline deadline);

// --- HPACK (RFC 7541), just enough to encode requests without any dynamic table. ---
std::string hpackInteger(uint64_t value, int prefix_bits, uint8_t first_byte_flags);
std::string hpackString(std::string_view text);  // no Huffman coding
// A literal field without indexing with a new name (names must be lower case).
std::string hpackLiteral(std::string_view name, std::string_view value);
// :method, :scheme http, :path, :authority, then `extra` as literals.
std::string requestBlock(std::string_view path = "/", std::string_view authority = "localhost",
                         const HeaderList& extra = {}, std::string_view method = "GET");

// One client connection. Frames are sent as given; the reader decodes response header blocks
// with nghttp2's HPACK decoder and, unless told not to, acknowledges the server's SETTINGS.
class H2Client {
 public:
  H2Client();
  ~H2Client();
  H2Client(const H2Client&) = delete;
  H2Client& operator=(const H2Client&) = delete;

  // Connects to 127.0.0.1:port and sends the preface and a SETTINGS frame with `settings`.
  bool connect(uint16_t port, const Settings& settings = {},
               Deadline deadline = deadlineIn(std::chrono::seconds(2)));
  // Whether the reader answers the server's SETTINGS with an ACK (the default).
  void setAutoAckSettings(bool ack) { auto_ack_settings_ = ack; }

  bool send(std::string_view bytes, Deadline deadline = deadlineIn(std::chrono::seconds(5)));

  // The next frame; nullopt when the connection closed (closed() is then true), the deadline
  // passed or the bytes are not a frame (see error()).
  std::optional<Frame> readFrame(Deadline deadline = deadlineIn(std::chrono::seconds(5)));
  // Reads frames until one satisfies `match` (returned), or nullopt on close or deadline.
  std::optional<Frame> readUntil(const std::function<bool(const Frame&)>& match,
                                 Deadline deadline = deadlineIn(std::chrono::seconds(5)));
  std::optional<Frame> waitGoaway(Deadline deadline = deadlineIn(std::chrono::seconds(5)));
  // Reads (and keeps) frames until the server closes or resets the connection: true, or false at
  // the deadline.
  bool waitClosed(Deadline deadline = deadlineIn(std::chrono::seconds(5)));

  bool closed() const { return closed_; }
  const std::vector<Frame>& frames() const { return frames_; }  // every frame read so far
  std::string describeFrames() const;                           // one line each, for messages
  const std::string& error() const { return error_; }
  Socket& socket() { return socket_; }

 private:
  void decodeBlock(Frame& frame, std::string_view fragment, bool end_headers);

  Socket socket_;
  nghttp2_hd_inflater* inflater_ = nullptr;
  std::string pending_block_;  // a header block still awaiting its CONTINUATION frames
  bool auto_ack_settings_ = true;
  bool closed_ = false;
  std::vector<Frame> frames_;
  std::string error_;
};

}  // namespace remora::harness::h2
