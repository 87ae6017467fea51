// Everything an integration test needs: include this one header.
#pragma once

#include "integration/harness/browser.h"
#include "integration/harness/certs.h"
#include "integration/harness/consul.h"
#include "integration/harness/etcd.h"
#include "integration/harness/http.h"
#include "integration/harness/keep_alive_load.h"
#include "integration/harness/nginx.h"
#include "integration/harness/process.h"
#include "integration/harness/remora.h"
#include "integration/harness/scripted_upstream.h"
#include "integration/harness/socket.h"
#include "integration/harness/temp_dir.h"
#include "integration/harness/wait.h"
