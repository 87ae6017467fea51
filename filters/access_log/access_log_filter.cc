// The `access_log` filter: `{format: text | json, path: FILE}` (path defaults to stdout): the
// line formats, and the filter handing each line to its destination's LogSink.
#include "filters/access_log/access_log_filter.h"

#include <cstdio>
#include <ctime>

#include "config/yaml_reader.h"
#include "filters/access_log/log_sink.h"

namespace remora::filters {

namespace {

void appendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char esc[8];
          snprintf(esc, sizeof(esc), "\\u%04x", c);
          out += esc;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

// Text fields are quoted; quotes and control bytes inside them are escaped so a line stays a line.
void appendQuoted(std::string& out, std::string_view s) {
  if (s.empty()) {
    out += "\"-\"";
    return;
  }
  appendJsonString(out, s);
}

std::string isoTime(std::chrono::system_clock::time_point t) {
  auto since = t.time_since_epoch();
  time_t secs = std::chrono::duration_cast<std::chrono::seconds>(since).count();
  int millis =
      static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(since).count() % 1000);
  tm utc;
  gmtime_r(&secs, &utc);
  char buf[40];
  size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &utc);
  snprintf(buf + n, sizeof(buf) - n, ".%03dZ", millis);
  return buf;
}

class AccessLogFactory : public FilterFactory {
 public:
  AccessLogFactory(std::shared_ptr<LogSink> sink, bool json)
      : sink_(std::move(sink)), json_(json) {}
  std::unique_ptr<Filter> create(StreamContext&) const override;
  // On the worker: formatted into a buffer the thread keeps, then copied to its ring.
  void write(const StreamInfo& info) const {
    thread_local std::string line;
    line.clear();
    appendAccessLogLine(line, info, json_);
    sink_->append(line);
  }

 private:
  std::shared_ptr<LogSink> sink_;
  bool json_;
};

class AccessLogFilter : public Filter {
 public:
  explicit AccessLogFilter(const AccessLogFactory& factory) : factory_(factory) {}
  void onComplete(const StreamInfo& info) override { factory_.write(info); }

 private:
  const AccessLogFactory& factory_;
};

std::unique_ptr<Filter> AccessLogFactory::create(StreamContext&) const {
  return std::make_unique<AccessLogFilter>(*this);
}

}  // namespace

std::string formatAccessLogLine(const StreamInfo& info, bool json) {
  std::string out;
  out.reserve(256);
  appendAccessLogLine(out, info, json);
  return out;
}

void appendAccessLogLine(std::string& out, const StreamInfo& info, bool json) {
  const double duration_ms = std::chrono::duration<double, std::milli>(info.duration).count();
  char number[32];
  snprintf(number, sizeof(number), "%.3f", duration_ms);
  const size_t start = out.size();
  if (json) {
    auto field = [&](const char* name, std::string_view value) {
      out += out.size() == start + 1 ? "\"" : ",\"";
      out += name;
      out += "\":";
      appendJsonString(out, value);
    };
    auto numberField = [&](const char* name, std::string_view value) {
      out += ",\"";
      out += name;
      out += "\":";
      out += value;
    };
    out += '{';
    field("start_time", isoTime(info.start_time));
    field("listener", info.listener);
    field("method", info.method);
    field("authority", info.authority);
    field("path", info.path);
    field("protocol", info.protocol);
    numberField("status", std::to_string(info.status));
    field("grpc_status", info.grpc_status);
    numberField("bytes_received", std::to_string(info.request_body_bytes));
    numberField("bytes_sent", std::to_string(info.response_body_bytes));
    numberField("duration_ms", number);
    field("downstream_address", info.downstream_address);
    field("cluster", info.cluster);
    field("upstream_address", info.upstream_address);
    numberField("retries", std::to_string(info.retries));
    field("request_id", info.request_id);
    field("user_agent", info.user_agent);
    field("local_reason", info.local_reason);
    out += "}\n";
    return;
  }
  out += '[';
  out += isoTime(info.start_time);
  out += "] ";
  // Escaped like the other fields: a quote in a request target must not end the field.
  appendQuoted(out, info.method + " " + info.path + " " + info.protocol);
  out += ' ';
  out += std::to_string(info.status);
  out += ' ';
  out += std::to_string(info.request_body_bytes);
  out += ' ';
  out += std::to_string(info.response_body_bytes);
  out += ' ';
  out += number;
  out += ' ';
  appendQuoted(out, info.downstream_address);
  out += ' ';
  appendQuoted(out, info.authority);
  out += ' ';
  appendQuoted(out, info.cluster);
  out += ' ';
  appendQuoted(out, info.upstream_address);
  out += ' ';
  appendQuoted(out, info.request_id);
  out += ' ';
  appendQuoted(out, info.user_agent);
  out += ' ';
  appendQuoted(out, info.local_reason);
  out += '\n';
}

Result<std::shared_ptr<const FilterFactory>> createAccessLogFilterFactory(
    const config::FilterConfig& config) {
  config::YamlReader reader(config.location.file);
  bool json = false;
  std::string path;
  SourceLocation path_where = config.location;
  const config::Located root{config.config, config.location};
  if (config.config && !config.config.IsNull()) {
    if (auto fields = reader.mapping(root, "access_log filter", {"format", "path"})) {
      if (const config::Field* f = fields->find("format")) {
        if (auto format = reader.string(f->value, "format")) {
          json = *format == "json";
          if (!json && *format != "text") {
            reader.error(f->value.where, "access_log format must be text or json");
          }
        }
      }
      if (const config::Field* f = fields->find("path")) {
        if (auto value = reader.nonEmptyString(f->value, "path")) path = *value;
        path_where = f->value.where;
      }
    }
  }
  std::vector<Error> errors = reader.takeErrors();
  if (!errors.empty()) return errors;
  std::string error;
  std::shared_ptr<LogSink> sink = LogSink::open(path, error);
  if (sink == nullptr) return Error{path_where, "access_log: cannot open '" + path + "': " + error};
  return std::shared_ptr<const FilterFactory>(
      std::make_shared<AccessLogFactory>(std::move(sink), json));
}

}  // namespace remora::filters
