# One image for both apps; each Fly app (fly.web.toml, fly.ingestor.toml) runs its own entry point.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx nx run-many -t build --projects=web,ingestor --outputStyle=static \
 && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
# The web app by default; the ingestor image command is
# `node --enable-source-maps --max-semi-space-size=4 dist/apps/ingestor/src/main.js`.
CMD ["node", "--enable-source-maps", "dist/apps/web/src/main.js"]
