/// <reference lib="dom" />
import { adoptTokenFromUrl } from './api';
import { renderHome } from './home';
import { problemPage, frame } from './layout';
import { renderPipeline } from './pipeline';
import { renderCluster } from './cluster';
import { renderTokens } from './tokens';

// One shell serves every page; the path picks the view.
adoptTokenFromUrl();
const match = /^\/pipelines\/([^/]+)\/?$/.exec(location.pathname);
if (match) renderPipeline(decodeURIComponent(match[1]));
else if (location.pathname === '/' || location.pathname === '') renderHome();
else if (/^\/tokens\/?$/.test(location.pathname)) renderTokens();
else if (/^\/cluster\/?$/.test(location.pathname)) renderCluster();
else problemPage(frame([{ label: 'Not found' }]).main, 'Page not found', `There is no page at ${location.pathname}.`);
