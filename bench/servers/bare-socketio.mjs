// Baseline for fan-out: a bare socket.io server (no Redis adapter, no auth, no Nest) whose
// viewers subscribe like Dash's, and which broadcasts the message it is given at the rate it
// is told (over IPC), stamping emittedAt as Dash's ingestor does.
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const httpServer = createServer();
const io = new Server(httpServer, { transports: ['websocket'], maxHttpBufferSize: 16 * 1024 });
io.on('connection', (socket) => {
  socket.on('subscribe', (request, ack) => {
    void socket.join(`pipeline:${request?.pipelineId}`);
    if (typeof ack === 'function') ack({ ok: true, stats: { pipelineId: request?.pipelineId, count: 0, lastEvent: null, lastEventAt: null, version: 0 } });
  });
});

let timer = null;
process.on('message', (command) => {
  if (command.type === 'broadcast') {
    // { template, rate, count }: `count` messages, evenly spaced at `rate` per second.
    const { template, rate, count } = command;
    const room = `pipeline:${template.pipelineId}`;
    let sent = 0;
    const started = Date.now();
    const tick = () => {
      const due = Math.min(count, Math.floor(((Date.now() - started) / 1000) * rate) + 1);
      while (sent < due) {
        sent += 1;
        io.to(room).emit('data_updated', { ...template, count: template.count + sent, version: template.version + sent, emittedAt: new Date().toISOString() });
      }
      if (sent >= count) {
        process.send({ type: 'done', sent });
        return;
      }
      timer = setTimeout(tick, Math.max(1, Math.round(1000 / rate / 2)));
    };
    tick();
  } else if (command.type === 'stop') {
    if (timer) clearTimeout(timer);
  }
});
httpServer.listen(Number(process.env.PORT), '127.0.0.1', () => console.log(`listening on ${httpServer.address().port}`));
process.on('SIGTERM', () => {
  io.close();
  process.exit(0);
});
