"""The gRPC test peer of remora's integration tests: a tiny Echo service and a client for it.

Built on grpcio's generic handlers with bytes in and bytes out, so no .proto, protoc or
generated code is needed: a message is its raw payload. Both sides speak plaintext h2c.

  peer.py serve [--port 0]
      prints `listening 127.0.0.1:PORT` as its first stdout line, then serves until killed.
  peer.py call --target HOST:PORT [--metadata K=V]... [--timeout S] METHOD [ARGS]
      say TEXT | say --size BYTES | count N | sum N... | fail STATUS [--trailers-only]
      | flaky KEY N | concurrent --calls N
      prints one JSON object (see Result) and exits 0 once the call completed, whatever its
      status; 2 on bad usage.
  peer.py check --target HOST:PORT
      runs every method once and checks the answers; exits 0 only when all are right. Tests
      run it against the server directly, so a broken peer is not mistaken for a remora bug.
"""

import argparse
import concurrent.futures
import hashlib
import json
import signal
import sys
import threading

import grpc

SERVICE = "remora.test.Echo"
# Room for the 4 MiB case plus framing: gRPC's default receive limit is exactly 4 MiB.
MAX_MESSAGE = 16 * 1024 * 1024
# Messages are listed in the output only when this small; bigger ones are summarised by size
# and digest, so a 4 MiB echo does not flood the test's captured output.
LIST_LIMIT = 64 * 1024
FAIL_DETAILS = "asked to fail"


# --- server -----------------------------------------------------------------------------------


def say(request, context):
    # Echo x-test both ways a client can see it: as initial metadata (headers) and as trailing
    # metadata (trailers), so a proxy that drops either is caught.
    value = dict(context.invocation_metadata()).get("x-test")
    if value is not None:
        context.send_initial_metadata((("x-test", value),))
        context.set_trailing_metadata((("x-test-trailer", value),))
    return request


def count(request, context):
    n = int(request.decode())
    for i in range(n):
        yield str(i).encode()


def sum_numbers(request_iterator, context):
    return str(sum(int(message.decode()) for message in request_iterator)).encode()


def fail(request, context):
    # "STATUS" sends response headers first, so the status travels in real trailers after them;
    # "STATUS trailers-only" lets gRPC fold it into the only HEADERS frame. A proxy must carry
    # both shapes.
    name, _, shape = request.decode().partition(" ")
    code = grpc.StatusCode.__members__.get(name)
    if code is None or code is grpc.StatusCode.OK or shape not in ("", "trailers-only"):
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "cannot fail as: " + request.decode())
    if shape != "trailers-only":
        context.send_initial_metadata((("x-fail", name),))
    context.abort(code, FAIL_DETAILS)


# Calls to Flaky so far, by the key each names.
flaky_attempts = {}
flaky_lock = threading.Lock()


def flaky(request, context):
    # "KEY N": the first N calls naming KEY fail UNAVAILABLE (trailers-only, as a server that is
    # shutting down answers), later ones succeed; the answer says which attempt it was.
    key, _, failures = request.decode().partition(" ")
    with flaky_lock:
        attempt = flaky_attempts.get(key, 0) + 1
        flaky_attempts[key] = attempt
    if attempt <= int(failures or 0):
        context.abort(grpc.StatusCode.UNAVAILABLE, "flaky attempt %d" % attempt)
    return ("attempt %d" % attempt).encode()


def serve(args):
    handlers = {
        # None as (de)serializer: grpcio passes the raw bytes through untouched.
        "Say": grpc.unary_unary_rpc_method_handler(say),
        "Count": grpc.unary_stream_rpc_method_handler(count),
        "Sum": grpc.stream_unary_rpc_method_handler(sum_numbers),
        "Fail": grpc.unary_unary_rpc_method_handler(fail),
        "Flaky": grpc.unary_unary_rpc_method_handler(flaky),
    }
    # More workers than the tests' widest burst (50 concurrent calls), so none waits for a thread.
    server = grpc.server(
        concurrent.futures.ThreadPoolExecutor(max_workers=64),
        handlers=(grpc.method_handlers_generic_handler(SERVICE, handlers),),
        options=(
            ("grpc.max_receive_message_length", MAX_MESSAGE),
            ("grpc.max_send_message_length", MAX_MESSAGE),
            ("grpc.so_reuseport", 0),
        ),
    )
    port = server.add_insecure_port("127.0.0.1:%d" % args.port)
    if port == 0:
        print("cannot bind 127.0.0.1:%d" % args.port, file=sys.stderr)
        return 1
    server.start()
    stopped = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopped.set())
    print("listening 127.0.0.1:%d" % port, flush=True)
    while not stopped.wait(3600):
        pass
    server.stop(grace=1).wait()
    return 0


# --- client -----------------------------------------------------------------------------------


def channel_for(target):
    return grpc.insecure_channel(
        target,
        options=(
            ("grpc.max_receive_message_length", MAX_MESSAGE),
            ("grpc.max_send_message_length", MAX_MESSAGE),
            # The target is always a local address: never route it through a proxy from the
            # environment, and never retry behind the test's back (it must see each status).
            ("grpc.enable_http_proxy", 0),
            ("grpc.enable_retries", 0),
        ),
    )


def pattern(size):
    # Content that changes along its length, so a truncated or reordered copy never compares
    # equal to the original.
    block = b"".join(i.to_bytes(4, "big") for i in range(16384))
    return (block * (size // len(block) + 1))[:size]


def metadata_dict(metadata):
    return {key: value for key, value in (metadata or ())}


def result(call, messages, error=None):
    """The JSON object `call` prints: code, details, metadata and the messages received."""
    source = error if error is not None else call
    out = {
        "code": source.code().name,
        "details": source.details() or "",
        "initial_metadata": metadata_dict(source.initial_metadata()),
        "trailing_metadata": metadata_dict(source.trailing_metadata()),
        "sizes": [len(m) for m in messages],
    }
    if sum(len(m) for m in messages) <= LIST_LIMIT:
        out["messages"] = [m.decode(errors="replace") for m in messages]
    else:
        out["sha256"] = [hashlib.sha256(m).hexdigest() for m in messages]
    return out


def unary(channel, method, request, metadata, timeout):
    stub = channel.unary_unary(
        "/%s/%s" % (SERVICE, method), request_serializer=None, response_deserializer=None
    )
    try:
        response, call = stub.with_call(request, metadata=metadata, timeout=timeout)
        return result(call, [response])
    except grpc.RpcError as error:
        return result(None, [], error)


def call_say(channel, args, metadata):
    request = pattern(args.size) if args.size is not None else " ".join(args.text).encode()
    out = unary(channel, "Say", request, metadata, args.timeout)
    out["sent_size"] = len(request)
    out["echo_ok"] = out["code"] == "OK" and out["sizes"] == [len(request)]
    if out["echo_ok"]:
        digest = hashlib.sha256(request).hexdigest()
        out["echo_ok"] = out.get("sha256", [digest])[0] == digest and (
            "messages" not in out or out["messages"][0] == request.decode(errors="replace")
        )
    return out


def call_count(channel, args, metadata):
    stub = channel.unary_stream(
        "/%s/Count" % SERVICE, request_serializer=None, response_deserializer=None
    )
    call = stub(str(args.n).encode(), metadata=metadata, timeout=args.timeout)
    messages = []
    try:
        for message in call:
            messages.append(message)
    except grpc.RpcError as error:
        return result(None, messages, error)
    return result(call, messages)


def call_sum(channel, args, metadata):
    stub = channel.stream_unary(
        "/%s/Sum" % SERVICE, request_serializer=None, response_deserializer=None
    )
    requests = [str(n).encode() for n in args.numbers]
    try:
        response, call = stub.with_call(iter(requests), metadata=metadata, timeout=args.timeout)
        return result(call, [response])
    except grpc.RpcError as error:
        return result(None, [], error)


def call_fail(channel, args, metadata):
    request = args.status + (" trailers-only" if args.trailers_only else "")
    return unary(channel, "Fail", request.encode(), metadata, args.timeout)


def call_flaky(channel, args, metadata):
    request = "%s %d" % (args.key, args.failures)
    return unary(channel, "Flaky", request.encode(), metadata, args.timeout)


def call_concurrent(channel, args, metadata):
    """`calls` unary Says in flight at once on one channel (so one HTTP/2 connection)."""
    stub = channel.unary_unary(
        "/%s/Say" % SERVICE, request_serializer=None, response_deserializer=None
    )
    requests = [("call-%d" % i).encode() for i in range(args.calls)]
    futures = [stub.future(r, metadata=metadata, timeout=args.timeout) for r in requests]
    codes = {}
    mismatched = 0
    for request, future in zip(requests, futures):
        code = future.code()
        codes[code.name] = codes.get(code.name, 0) + 1
        if code is grpc.StatusCode.OK and future.result() != request:
            mismatched += 1
    return {
        "calls": args.calls,
        "ok": codes.get("OK", 0),
        "codes": codes,
        "mismatched": mismatched,
    }


def call(args):
    metadata = []
    for item in args.metadata:
        key, sep, value = item.partition("=")
        if not sep:
            print("--metadata wants KEY=VALUE, not %r" % item, file=sys.stderr)
            return 2
        metadata.append((key, value))
    with channel_for(args.target) as channel:
        out = args.run(channel, args, tuple(metadata))
    print(json.dumps(out, sort_keys=True), flush=True)
    return 0


# --- direct self-check -----------------------------------------------------------------------


def check(args):
    """Every method once against `target`, each answer checked; the report lists what failed."""
    problems = []

    def expect(what, ok, out):
        if not ok:
            problems.append({"check": what, "got": out})

    timeout = args.timeout
    with channel_for(args.target) as channel:
        ns = argparse.Namespace
        out = call_say(channel, ns(size=None, text=["hello"], timeout=timeout), (("x-test", "v1"),))
        expect(
            "say",
            out["echo_ok"]
            and out["initial_metadata"].get("x-test") == "v1"
            and out["trailing_metadata"].get("x-test-trailer") == "v1",
            out,
        )
        out = call_count(channel, ns(n=100, timeout=timeout), ())
        expect("count", out.get("messages") == [str(i) for i in range(100)], out)
        out = call_sum(channel, ns(numbers=[1, 2, 3, 40], timeout=timeout), ())
        expect("sum", out.get("messages") == ["46"], out)
        for status in ("UNAVAILABLE", "NOT_FOUND"):
            for trailers_only in (False, True):
                out = call_fail(
                    channel, ns(status=status, trailers_only=trailers_only, timeout=timeout), ()
                )
                expect(
                    "fail %s%s" % (status, " trailers-only" if trailers_only else ""),
                    (out["code"], out["details"]) == (status, FAIL_DETAILS)
                    and out["initial_metadata"] == ({} if trailers_only else {"x-fail": status}),
                    out,
                )
        for attempt, code in ((1, "UNAVAILABLE"), (2, "OK")):
            out = call_flaky(channel, ns(key="check", failures=1, timeout=timeout), ())
            expect("flaky attempt %d" % attempt, out["code"] == code, out)
        out = call_say(channel, ns(size=4 * 1024 * 1024, text=[], timeout=timeout), ())
        expect("say 4 MiB", out["echo_ok"], out)
        out = call_concurrent(channel, ns(calls=50, timeout=timeout), ())
        expect("concurrent", out["ok"] == 50 and out["mismatched"] == 0, out)
    print(json.dumps({"ok": not problems, "problems": problems}, sort_keys=True), flush=True)
    return 0 if not problems else 1


# --- command line -----------------------------------------------------------------------------


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    server = commands.add_parser("serve", help="serve remora.test.Echo until killed")
    server.add_argument("--port", type=int, default=0, help="0 (the default) picks a free one")
    server.set_defaults(main=serve)

    checker = commands.add_parser("check", help="call every method once and check the answers")
    checker.add_argument("--target", required=True)
    checker.add_argument("--timeout", type=float, default=30.0)
    checker.set_defaults(main=check)

    client = commands.add_parser("call", help="call one method and print the outcome as JSON")
    client.add_argument("--target", required=True, help="HOST:PORT, plaintext HTTP/2")
    client.add_argument("--metadata", action="append", default=[], metavar="KEY=VALUE")
    client.add_argument("--timeout", type=float, default=30.0, help="deadline in seconds")
    client.set_defaults(main=call)
    methods = client.add_subparsers(dest="method", required=True)

    m = methods.add_parser("say", help="unary echo of TEXT, or of a BYTES-long pattern")
    m.add_argument("text", nargs="*")
    m.add_argument("--size", type=int)
    m.set_defaults(run=call_say)
    m = methods.add_parser("count", help="server streaming: N messages '0'..'N-1'")
    m.add_argument("n", type=int)
    m.set_defaults(run=call_count)
    m = methods.add_parser("sum", help="client streaming: one message per number, their sum back")
    m.add_argument("numbers", type=int, nargs="*")
    m.set_defaults(run=call_sum)
    m = methods.add_parser("fail", help="ask for a status by name (UNAVAILABLE, NOT_FOUND, ...)")
    m.add_argument("status")
    m.add_argument(
        "--trailers-only", action="store_true", help="no response headers before the status"
    )
    m.set_defaults(run=call_fail)
    m = methods.add_parser("flaky", help="UNAVAILABLE for the first N calls naming KEY, then OK")
    m.add_argument("key")
    m.add_argument("failures", type=int)
    m.set_defaults(run=call_flaky)
    m = methods.add_parser("concurrent", help="N unary Says in flight at once on one channel")
    m.add_argument("--calls", type=int, default=50)
    m.set_defaults(run=call_concurrent)
    return parser.parse_args(argv)


if __name__ == "__main__":
    parsed = parse(sys.argv[1:])
    sys.exit(parsed.main(parsed))
