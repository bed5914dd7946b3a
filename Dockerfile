# herald's container image: compile in a full Node image, run on distroless as a
# non-root user with only the production dependencies.
#   docker build -t ghcr.io/herald/herald:v0.1.0 .
ARG NODE_MAJOR=20

FROM node:${NODE_MAJOR}-bookworm-slim AS build
WORKDIR /src
# Dependencies first, so that a source change does not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN node node_modules/typescript/bin/tsc -p tsconfig.json \
 && npm prune --omit=dev --no-audit --no-fund

FROM gcr.io/distroless/nodejs${NODE_MAJOR}-debian12:nonroot
LABEL org.opencontainers.image.title="herald" \
      org.opencontainers.image.description="Argo CD Application notifications to DingTalk, and Git webhooks to Argo CD refreshes" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
ENV NODE_ENV=production
# package.json carries "type": "module", which the compiled ESM needs.
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/build/src ./build/src
COPY crds ./crds
# distroless' nonroot user; the Deployment also enforces runAsNonRoot.
USER 65532:65532
# webhook receiver, health probes, metrics
EXPOSE 8080 8081 9001
ENTRYPOINT ["/nodejs/bin/node", "/app/build/src/main.js"]
CMD ["controller"]
