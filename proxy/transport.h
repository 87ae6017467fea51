// Transport: a non-blocking TCP socket with input and output evbuffers on a worker's event loop.
// It replaces libevent's bufferevent on the request path: writes go out at the end of the
// current callback in one writev (no poll registration while the socket keeps up), and reads
// need no FIONREAD, so a keep-alive exchange costs one read and one write per side.
#pragma once

#include <event2/buffer.h>
#include <event2/event.h>
#include <sys/socket.h>

#include <cstddef>

namespace remora {

class TransportCallbacks {
 public:
  virtual ~TransportCallbacks() = default;
  // New bytes are in input().
  virtual void onReadable() = 0;
  // The output went down to the low watermark (or empty) after a write.
  virtual void onWriteDrained() = 0;
  virtual void onConnected() {}
  // The peer closed (`error` false) or the socket failed, including a failed connect.
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

  // A connection whose protocol becomes known later hands its transport to the codec.
  void setCallbacks(TransportCallbacks& callbacks) { callbacks_ = &callbacks; }

  evbuffer* input() { return input_; }
  // Bytes added here are written at the end of the current callback.
  evbuffer* output() { return output_; }
  int fd() const { return fd_; }
  bool connected() const { return connected_; }

  void enableRead(bool enable);
  // Reading pauses while the input holds this many bytes, and resumes as it is consumed.
  void setReadLimit(size_t bytes) {
    read_limit_ = bytes;
    updateReadInterest();
  }
  void setWriteLowWatermark(size_t bytes) { write_low_ = bytes; }
  // Sends FIN once everything queued is written.
  void shutdownWrite();
  // Stops every callback; the socket closes with the object.
  void silence();

 private:
  static void onReadEvent(evutil_socket_t, short, void* self);
  static void onWriteEvent(evutil_socket_t, short, void* self);
  static void onFlushEvent(evutil_socket_t, short, void* self);
  static void onOutputChanged(evbuffer*, const evbuffer_cb_info* info, void* self);
  static void onInputChanged(evbuffer*, const evbuffer_cb_info* info, void* self);
  void start();
  void updateReadInterest();
  void flush();
  // One send of what the output holds (up to 16 chains); bytes sent, or -1 with errno.
  ssize_t sendSome();
  void fail();

  event_base* base_;
  TransportCallbacks* callbacks_;
  int fd_ = -1;
  evbuffer* input_;
  evbuffer* output_;
  event* read_event_ = nullptr;
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
  bool shutdown_pending_ = false;
  bool failed_ = false;
  bool eof_ = false;  // the peer sent FIN: there is nothing more to read
};

}  // namespace remora
