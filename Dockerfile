# One image for both apps, built once: each Fly app (fly.web.toml, fly.ingestor.toml) and each
# compose service runs its own entry point through scripts/launch.js, which holds each app's node
# flags. Node 22 LTS (supported to April 2027; process.execve, so the launcher adds no process).
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx nx run-many -t build --projects=web,ingestor --outputStyle=static \
 && npm prune --omit=dev

FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/scripts/launch.js ./scripts/launch.js
USER node
EXPOSE 3000
# Liveness for plain Docker: /health on the public port for the web app, on METRICS_PORT for an
# ingestor (it has no other port; without METRICS_PORT there is nothing to probe and the check passes).
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "const e=process.env,i=e.APP_ROLE==='ingestor',p=i?e.METRICS_PORT:(e.PORT||3000),h=i?(e.METRICS_HOST||'127.0.0.1'):'127.0.0.1';if(!p)process.exit(0);fetch('http://'+(h.includes(':')?'['+h+']':h)+':'+p+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# The web app by default; the ingestor: `node scripts/launch.js ingestor`; migrations: `node scripts/launch.js migrate`.
CMD ["node", "scripts/launch.js", "web"]
