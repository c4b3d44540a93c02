import { append, copyButton, h } from './dom';

/** Ready-to-paste signed requests (curl + openssl, Node with `standardwebhooks`) for a webhook URL. */
export function signingExamples(url: string, secret?: string): HTMLElement {
  const secretLine = secret ? `SECRET="${secret}"` : `SECRET="whsec_…"   # the pipeline's signing secret`;
  const curl = `URL="${url}"
${secretLine}
ID="msg_$(date +%s%N)"; TS=$(date +%s)
BODY='{"type": "order.created", "total": 42}'
KEY=$(printf '%s' "\${SECRET#whsec_}" | base64 -d | od -An -tx1 | tr -d ' \\n')
SIG=$(printf '%s' "$ID.$TS.$BODY" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$KEY" -binary | base64)
curl "$URL" -H "content-type: application/json" \\
  -H "webhook-id: $ID" -H "webhook-timestamp: $TS" \\
  -H "webhook-signature: v1,$SIG" -d "$BODY"`;
  const node = `// npm i standardwebhooks
import { Webhook } from 'standardwebhooks';

const secret = ${secret ? `'${secret}'` : 'process.env.SECRET'};
const body = JSON.stringify({ type: 'order.created', total: 42 });
const id = \`msg_\${Date.now()}\`;
const now = new Date();
const signature = new Webhook(secret).sign(id, now, body);
await fetch('${url}', {
  method: 'POST',
  body,
  headers: {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': signature,
  },
});`;
  const code = h('pre', { class: 'code', tabindex: '0', 'aria-label': 'Signing example' }, curl);
  const tabs = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Example language' });
  let current = curl;
  for (const [label, text] of [
    ['curl', curl],
    ['Node.js', node],
  ] as const) {
    const tab = h('button', { type: 'button', class: 'segment', 'aria-pressed': String(text === curl) }, label);
    tab.addEventListener('click', () => {
      current = text;
      code.textContent = text;
      for (const other of tabs.children) other.setAttribute('aria-pressed', String(other === tab));
    });
    append(tabs, tab);
  }
  return h('div', { class: 'examples' }, h('div', { class: 'code-head' }, tabs, copyButton(() => current, 'Copy example')), code);
}
