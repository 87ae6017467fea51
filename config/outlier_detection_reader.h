// Reads a cluster's `outlier_detection:` block: its detectors and ejection bounds, or `off`.
#pragma once

#include "config/config.h"
#include "config/yaml_reader.h"

namespace remora::config {

// {consecutive_5xx, consecutive_gateway_failure, consecutive_local_origin_failure,
//  failure_percentage: {threshold, min_requests} | off, interval, base_ejection_time,
//  max_ejection_time, max_ejection_percent} or `off`; written keys replace the defaults in `out`.
void readOutlierDetection(YamlReader& reader, const Located& at, OutlierDetection& out);

}  // namespace remora::config
