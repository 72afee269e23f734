# Webhook image: a static-enough release binary on distroless, running as UID 65532.
# Build: docker build -t pss-fix:dev .   (needs a Docker engine; not available in this
# project's CI, so this file is kept deliberately simple.)
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin pss-fix

# distroless/cc has glibc and libgcc (the binary needs nothing else: TLS is rustls + ring);
# the :nonroot tag runs as UID/GID 65532, which deploy/ and PSS restricted expect.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/pss-fix /usr/local/bin/pss-fix
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["/usr/local/bin/pss-fix"]
CMD ["webhook", "--listen", "0.0.0.0:8443", "--tls-cert", "/tls/tls.crt", "--tls-key", "/tls/tls.key", "--config", "/config/config.yaml"]
