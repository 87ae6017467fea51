// Transport: a non-blocking TCP socket with input and output evbuffers on a worker's event loop.
// It replaces libevent's bufferevent on the request path: writes go out at the end of the
// current callback in one writev (no poll registration while the socket keeps up), and reads
// need no FIONREAD, so a keep-alive exchange costs one read and one write per side. In TLS mode
// (OpenSSL, either side) the evbuffers hold plaintext and the socket carries records.
#pragma once

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace remora {

class TransportCallbacks {
 public:
  virtual ~TransportCallbacks() = default;
  // New bytes are in input().
  virtual void onReadable() = 0;
  // The output went down to the low watermark (or empty) after a write.
  virtual void onWriteDrained() = 0;
  // The connection is ready for data: TCP connected, and in TLS mode the handshake is done.
  virtual void onConnected() {}
  // The peer closed (`error` false) or the socket failed, including a failed connect or TLS
  // handshake (then tlsError() says why).
  virtual void onTransportClosed(bool error) = 0;
};

class Transport {
 public:
  Transport(event_base* base, TransportCallbacks& callbacks);
  // Callbacks come later, through setCallbacks(), before the loop runs again.
  explicit Transport(event_base* base);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Takes an accepted, connected socket.
  void attach(int fd);
  // Starts a non-blocking connect; false if it failed at once (errno set).
  bool connect(const sockaddr* address, socklen_t length);

  // TLS server side: takes an accepted socket and runs the handshake from the event loop; the
  // callbacks see onConnected() when it completes (and no bytes in input() before). A handshake
  // not done within `handshake_timeout` (0: no limit) fails. False if no SSL could be made.
  bool attachTls(int fd, SSL_CTX* context, std::chrono::milliseconds handshake_timeout);
  // TLS client side: connect() then the handshake; `sni` (a name, or an IP literal, or "") is
  // sent as SNI and must match the peer's certificate. onConnected() comes after the handshake;
  // what is written to output() before goes out after it.
  bool connectTls(const sockaddr* address, socklen_t length, SSL_CTX* context,
                  std::string_view sni);
  bool tls() const { return ssl_ != nullptr; }
  // The ALPN protocol agreed in the handshake ("http/1.1", later "h2"); "" when none.
  std::string_view negotiatedProtocol() const;
  // Why the TLS handshake or connection failed (OpenSSL's reasons); "" otherwise.
  const std::string& tlsError() const { return tls_error_; }

  // A connection whose protocol becomes known later hands its transport to the codec.
  void setCallbacks(TransportCallbacks& callbacks) { callbacks_ = &callbacks; }

  evbuffer* input() { return input_; }
  // Bytes added here are written when flushSoon() is called after adding them.
  evbuffer* output() { return output_; }
  // Writes what output() holds at the end of the current callback: once however many writers
  // added to it, in one send. Explicit rather than an evbuffer callback, which libevent would
  // run on every add and every drain. During a socket event's callback the transport joins
  // that callback's FlushBatch (proxy/flush_batch.h); otherwise its flush event is activated.
  void flushSoon();
  int fd() const { return fd_; }
  bool connected() const { return connected_; }

  void enableRead(bool enable);
  // Reading pauses while the input holds this many bytes, and resumes as it is consumed.
  void setReadLimit(size_t bytes) {
    read_limit_ = bytes;
    updateReadInterest();
  }
  void setWriteLowWatermark(size_t bytes) { write_low_ = bytes; }
  // Sends FIN once everything queued is written (in TLS mode: close_notify, then FIN).
  void shutdownWrite();
  // Stops every callback; the socket closes with the object.
  void silence();
  // silence(), and the socket closed now rather than with the object: a connection given up
  // must be gone before its place under a connection limit is given to another.
  void closeNow();

 private:
  static void onReadEvent(evutil_socket_t, short, void* self);
  static void onWriteEvent(evutil_socket_t, short, void* self);
  event* writeEvent();
  static void onFlushEvent(evutil_socket_t, short, void* self);
  // The flush flushSoon() promised, from the flush event or a FlushBatch.
  void flushQueued();
  friend class FlushBatch;
  static void onInputChanged(evbuffer*, const evbuffer_cb_info* info, void* self);
  void start();
  void updateReadInterest();
  // libevent runs a buffer's callbacks on every change to it, which costs even when they have
  // nothing to do; onInputChanged is registered only while it has: reading paused at the read
  // limit (consuming input resumes it), or TLS (OpenSSL may hold decrypted bytes).
  void watchInputDrain(bool watch);
  void flush();
  // One send of what the output holds (up to 16 chains); bytes sent, or -1 with errno.
  ssize_t sendSome();
  void fail();

  // The TLS mode's counterparts, each reached through one `ssl_ != nullptr` branch.
  static void onHandshakeTimeout(evutil_socket_t, short, void* self);
  bool prepareSsl(SSL_CTX* context);
  void tlsHandshake();
  void tlsRead();
  void tlsFlush();
  // Sends close_notify then FIN once shutdownWrite() was asked for and the output is empty.
  void tlsShutdownIfDone();
  void tlsUpdateInterest();
  void tlsFail(std::string reason);
  // Sorts out an SSL call's failure: false when it is fatal (then tls_error_ is set).
  bool tlsRetryable(int ssl_error, bool& want_read, bool& want_write);

  event_base* base_;
  TransportCallbacks* callbacks_;
  int fd_ = -1;
  evbuffer* input_;
  evbuffer* output_;
  evbuffer_cb_entry* input_watch_ = nullptr;  // onInputChanged's registration, when it has one
  event* read_event_ = nullptr;
  // Made the first time a send leaves bytes behind (or a connect waits): most connections never
  // fill the socket's buffer, and an event is ~150 bytes of every idle connection.
  event* write_event_ = nullptr;
  event* flush_event_;
  size_t read_limit_ = 256 * 1024;
  size_t write_low_ = 0;
  bool connected_ = false;
  bool connecting_ = false;
  bool read_wanted_ = true;
  bool reading_ = false;
  bool writing_ = false;
  bool flush_pending_ = false;
  bool in_flush_batch_ = false;  // queued in this thread's FlushBatch (flush_pending_ too)
  bool shutdown_pending_ = false;
  bool failed_ = false;
  bool eof_ = false;  // the peer sent FIN: there is nothing more to read

  SSL* ssl_ = nullptr;
  event* handshake_timer_ = nullptr;
  std::string tls_error_;
  bool handshaking_ = false;
  // What the SSL object is waiting for before the named operation can go on.
  bool handshake_wants_read_ = false;
  bool handshake_wants_write_ = false;
  bool read_wants_write_ = false;
  bool write_wants_read_ = false;
  bool write_wants_write_ = false;
  bool tls_shutdown_sent_ = false;  // close_notify is out (or on its way in OpenSSL's buffer)
};

}  // namespace remora
