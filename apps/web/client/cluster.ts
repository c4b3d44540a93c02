import { ApiError, getCluster, isAdmin, storedToken, type ClusterNode } from './api';
import { h, setText } from './dom';
import { formatAgo, formatCount } from './format';
import { frame, problemPage, showConnection, tokenGate } from './layout';

/** Heartbeats come every 5 s; reading a little more often shows each one soon after it lands. */
const POLL_MS = 3_000;

const mib = (bytes: number) => `${formatCount(Math.round(bytes / 1_048_576))}\u00a0MiB`;
const percent = (share: number) => `${Math.round(share * 100)}\u00a0%`;

/** `/cluster` (admin): every live node with its role, region, CPU, memory, sockets and backlog, refreshed every few seconds. */
export function renderCluster(): void {
  const { main, connection } = frame([{ label: 'Cluster' }]);
  if (!storedToken()) {
    connection.hidden = true;
    return tokenGate(main);
  }
  main.replaceChildren(h('p', { class: 'muted loading' }, 'Loading the cluster…'));
  void isAdmin().then((admin) => {
    if (!admin) {
      connection.hidden = true;
      return problemPage(main, 'Admin only', 'The cluster page needs the admin token.');
    }
    document.title = 'Cluster · Dash';
    const summary = h('p', { class: 'muted' }, '');
    const grid = h('section', { class: 'grid nodes', 'data-testid': 'nodes', 'aria-label': 'Nodes' });
    main.replaceChildren(h('section', { class: 'page-head' }, h('div', {}, h('h1', {}, 'Cluster'), summary)), grid);
    const refresh = async () => {
      try {
        const { nodes } = await getCluster();
        nodes.sort((a, b) => a.role.localeCompare(b.role) || a.id.localeCompare(b.id));
        const web = nodes.filter((n) => n.role === 'web').length;
        setText(summary, `${nodes.length} live node${nodes.length === 1 ? '' : 's'}: ${web} web, ${nodes.length - web} ingestor${nodes.length - web === 1 ? '' : 's'} · refreshed every ${POLL_MS / 1000} s`);
        grid.replaceChildren(...nodes.map(nodeCard));
        // The pill says whether these figures are current, as on the other pages.
        showConnection(connection, 'live');
      } catch (error) {
        showConnection(connection, error instanceof ApiError && error.status === 401 ? 'unauthorized' : 'reconnecting');
      }
    };
    void refresh();
    setInterval(() => void refresh(), POLL_MS);
  });
}

function nodeCard(node: ClusterNode): HTMLElement {
  const queued = node.queues ? Object.values(node.queues).reduce((a, b) => a + b, 0) : undefined;
  const row = (term: string, value: string) => [h('dt', {}, term), h('dd', {}, value)];
  return h(
    'article',
    { class: 'card node', 'data-node-id': node.id, 'data-role': node.role, 'aria-label': `${node.role} node ${node.id}` },
    h('div', { class: 'card-top' }, h('h2', { class: 'card-name' }, node.id), h('span', { class: 'badge' }, node.role)),
    h(
      'dl',
      { class: 'facts' },
      ...row('Region', node.region),
      ...row('CPU', percent(node.cpu)),
      ...row('Memory', mib(node.rssBytes)),
      ...row('Sockets', node.sockets === undefined ? '–' : formatCount(node.sockets)),
      ...row('Backlog', node.bufferBacklog === undefined ? '–' : formatCount(node.bufferBacklog)),
      ...row('Queued jobs', queued === undefined ? '–' : formatCount(queued)),
      ...row('Up for', formatAgo(Date.now() - Date.parse(node.startedAt)).replace(/\u00a0?ago$/, '').trim()),
      ...row('Last seen', formatAgo(Date.now() - Date.parse(node.lastSeenAt))),
    ),
  );
}
