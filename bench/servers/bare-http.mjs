// Baseline for intake: the least a Node HTTP server can do per webhook — read the whole
// body and answer 202. No parsing, no verification, nothing stored.
import { createServer } from 'node:http';

const server = createServer((request, response) => {
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    const body = Buffer.concat(chunks);
    response.writeHead(202, { 'content-type': 'application/json' });
    response.end(`{"accepted":${body.length > 0 ? 1 : 0}}`);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log(`listening on ${server.address().port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
