# syntax=docker/dockerfile:1
# Build stage: compile TypeScript with the dev dependencies.
FROM node:22-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY adapters ./adapters
COPY queue ./queue
COPY bench ./bench
RUN npm run build

# Runtime stage: production dependencies, compiled code and mapping profiles; runs as non-root.
FROM node:22-slim
# Inside a container the published port is the boundary: listen on every interface of the container.
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080 CONTINUUM_DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
# The operator console's page, script and style are served as written (tsc copies no .html or .css).
COPY src/http/console ./src/http/console
COPY mappings ./mappings
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "dist/src/cli/continuum.js"]
CMD ["start", "--role", "all"]
