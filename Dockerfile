# herald's container image: compile and bundle in a Node image, run the bundle on a
# distroless-style base as a non-root user.
#   docker build -t <registry>/herald:<tag> .
# Both bases are build arguments. The defaults are the public images; `make image`
# builds the same file with buildah on bases it assembles from Debian packages and the
# Node binary (test/e2e/image/build.ts). BASE_IMAGE must have node at /nodejs/bin/node
# (as distroless' nodejs images do); BUILD_IMAGE needs node, npm and a shell.
ARG NODE_MAJOR=20
ARG BUILD_IMAGE=node:${NODE_MAJOR}-bookworm-slim
ARG BASE_IMAGE=gcr.io/distroless/nodejs${NODE_MAJOR}-debian12:nonroot

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
# Dependencies first, so that a source change does not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --prefer-offline
COPY tsconfig.json ./
COPY src ./src
# One bundle of herald and its dependencies (build/bundle): the image needs no node_modules,
# and the operator loads in a fraction of the time and memory of the package tree.
RUN npm run --silent build \
 && printf '#!/nodejs/bin/node\n// herald on PATH: `herald --help` in the container, or kubectl exec.\nimport("/app/build/bundle/herald.js");\n' > /src/herald \
 && chmod 0755 /src/herald

FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="herald" \
      org.opencontainers.image.description="Argo CD Application notifications to DingTalk, and Git webhooks to Argo CD refreshes" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
ENV NODE_ENV=production
# package.json carries "type": "module", which the bundle's ESM needs.
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/build/bundle ./build/bundle
COPY --from=build /src/herald /usr/local/bin/herald
COPY crds ./crds
# distroless' nonroot user; the Deployment also enforces runAsNonRoot.
USER 65532:65532
# webhook receiver, health probes, metrics
EXPOSE 8080 8081 9001
ENTRYPOINT ["/usr/local/bin/herald"]
CMD ["controller"]
