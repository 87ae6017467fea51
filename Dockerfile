# remora's container image: built on Debian bookworm, run on bookworm-slim as a non-root user.
# docker build -t remora:0.1.0 .

FROM debian:bookworm AS build
# The same compiler, tools and -dev packages as a developer's machine (.ci/install-build-deps).
COPY .ci/build-packages /tmp/build-packages
RUN apt-get update \
 && xargs -a /tmp/build-packages apt-get install -y --no-install-recommends \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DREMORA_TESTS=OFF \
 && cmake --build /build --target remora \
 && strip /build/remora

FROM debian:bookworm-slim
# Only the shared libraries remora links (libc6 is in the base image);
# test/image/runtime_libs_test.sh checks this list against `ldd remora`.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libc-ares2 \
      libevent-core-2.1-7 \
      libevent-extra-2.1-7 \
      libevent-openssl-2.1-7 \
      libgcc-s1 \
      libnghttp2-14 \
      libprometheus-cpp-core1.0 \
      libre2-9 \
      libssl3 \
      libstdc++6 \
      libyaml-cpp0.7 \
 && rm -rf /var/lib/apt/lists/*
# A fixed numeric UID, so that Kubernetes' runAsNonRoot can verify it (the chart's
# remora.securityContext.runAsUser is the same).
RUN groupadd --system --gid 10001 remora \
 && useradd --system --uid 10001 --gid remora --no-create-home --shell /usr/sbin/nologin remora
COPY --from=build /build/remora /usr/local/bin/remora
USER 10001:10001
ENTRYPOINT ["remora"]
CMD ["-c", "/etc/remora/remora.yaml"]
