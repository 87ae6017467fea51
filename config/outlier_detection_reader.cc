// Outlier detection reading: detector thresholds, percentages and ejection times, each bounded.
#include "config/outlier_detection_reader.h"

#include "config/duration.h"
#include "config/field_readers.h"

namespace remora::config {
namespace {

void readFailurePercentage(YamlReader& reader, const Located& at,
                           OutlierDetection::FailurePercentage& out) {
  std::optional<Fields> fields =
      mappingOrOff(reader, at, "failure_percentage", {"threshold", "min_requests"}, out.enabled);
  if (!fields) return;
  readInteger(reader, *fields, "threshold", 1, 100, out.threshold);
  readInteger(reader, *fields, "min_requests", 1, kMaxUint32, out.min_requests);
}

// An ejection grows from base_ejection_time up to max_ejection_time, so a base above the max
// could never be served. Reported where the user wrote the value that has to change.
void checkEjectionTimes(YamlReader& reader, const Fields& fields, const OutlierDetection& out) {
  if (out.max_ejection_time >= out.base_ejection_time) return;
  if (const Field* max = fields.find("max_ejection_time")) {
    reader.error(max->value.where, "max_ejection_time must not be less than base_ejection_time (" +
                                       formatDuration(out.base_ejection_time) + ")");
    return;
  }
  reader.error(fields.find("base_ejection_time")->value.where,
               "base_ejection_time must not exceed max_ejection_time (" +
                   formatDuration(out.max_ejection_time) +
                   " by default); raise max_ejection_time too");
}

}  // namespace

void readOutlierDetection(YamlReader& reader, const Located& at, OutlierDetection& out) {
  std::optional<Fields> fields =
      mappingOrOff(reader, at, "outlier_detection",
                   {"consecutive_5xx", "consecutive_gateway_failure",
                    "consecutive_local_origin_failure", "failure_percentage", "interval",
                    "base_ejection_time", "max_ejection_time", "max_ejection_percent"},
                   out.enabled);
  if (!fields) return;
  readInteger(reader, *fields, "consecutive_5xx", 0, kMaxUint32, out.consecutive_5xx);
  readInteger(reader, *fields, "consecutive_gateway_failure", 0, kMaxUint32,
              out.consecutive_gateway_failure);
  readInteger(reader, *fields, "consecutive_local_origin_failure", 0, kMaxUint32,
              out.consecutive_local_origin_failure);
  if (const Field* f = fields->find("failure_percentage")) {
    readFailurePercentage(reader, f->value, out.failure_percentage);
  }
  readPositiveDuration(reader, *fields, "interval", out.interval);
  bool times_ok =
      readPositiveDuration(reader, *fields, "base_ejection_time", out.base_ejection_time);
  times_ok =
      readPositiveDuration(reader, *fields, "max_ejection_time", out.max_ejection_time) && times_ok;
  if (times_ok) checkEjectionTimes(reader, *fields, out);
  readInteger(reader, *fields, "max_ejection_percent", 0, 100, out.max_ejection_percent);
}

}  // namespace remora::config
