/**
 * The dashboard's HTML: one static document per page, the same for every namespace and build
 * (the page's script reads which from its URL and fills in the data as text). No data is ever
 * put into this HTML, so nothing here needs escaping, and there is no inline script or style
 * (the Content-Security-Policy forbids both).
 */

export type PageName = 'builds' | 'build' | 'agents';

/** The script each page runs (a module under /ui/assets/). */
export const PAGE_SCRIPTS: Record<PageName, string> = {
  builds: 'builds-page.js',
  build: 'build-page.js',
  agents: 'agents-page.js',
};

export function pageHtml(page: PageName): string {
  const current = (p: 'builds' | 'agents') => ((page === 'agents') === (p === 'agents') ? ' aria-current="page"' : '');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Slipway</title>
<link rel="icon" href="/ui/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/ui/assets/dashboard.css">
<script type="module" src="/ui/assets/${PAGE_SCRIPTS[page]}"></script>
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="/ui/">Slipway</a>
  <nav aria-label="Main">
    <ul>
      <li><a id="nav-builds" href="/ui/namespaces/default/builds"${current('builds')}>Builds</a></li>
      <li><a href="/ui/agents"${current('agents')}>Agents</a></li>
    </ul>
  </nav>
  <form id="token-form" class="token-form" hidden>
    <p id="token-why"></p>
    <label for="token-input">API token</label>
    <input id="token-input" type="password" autocomplete="off" spellcheck="false" required>
    <button type="submit">Use token</button>
    <p class="hint">Kept in this tab only (session storage) and sent as an Authorization header.</p>
  </form>
  <button id="token-forget" type="button" hidden>Forget token</button>
</header>
<main id="main" tabindex="-1">
${MAIN[page]}
</main>
<!-- Phase changes are said here (one region, so nothing is said twice). -->
<div id="announcer" class="visually-hidden" aria-live="polite" aria-atomic="true"></div>
<noscript><p>The dashboard needs JavaScript: it reads everything from Slipway's API.</p></noscript>
</body>
</html>
`;
}

const MAIN: Record<PageName, string> = {
  builds: `<h1>Builds in <span id="namespace-name">…</span></h1>
<form id="namespace-form" class="namespace-form" role="search">
  <label for="namespace-input">Namespace</label>
  <input id="namespace-input" name="namespace" autocomplete="off" spellcheck="false" required>
  <button type="submit">Show</button>
</form>
<p id="connection" class="connection" role="status">Connecting…</p>
<table class="builds">
  <caption><span id="build-count">No builds</span>, newest first</caption>
  <thead>
    <tr>
      <th scope="col">Build</th>
      <th scope="col">Phase</th>
      <th scope="col">Config</th>
      <th scope="col">Agent / node</th>
      <th scope="col">Duration</th>
      <th scope="col">Age</th>
      <th scope="col">Cause</th>
    </tr>
  </thead>
  <tbody id="builds-body"></tbody>
</table>
<p id="no-builds">No builds in this namespace yet.</p>`,

  build: `<p><a id="back-to-builds" href="/ui/">All builds</a></p>
<h1>Build <span id="build-name">…</span></h1>
<p id="connection" class="connection" role="status">Connecting…</p>
<section aria-labelledby="status-heading">
  <h2 id="status-heading">Status</h2>
  <p class="phase-line">Phase: <span id="phase">…</span></p>
  <dl id="facts" class="facts"></dl>
</section>
<section id="stages-section" aria-labelledby="stages-heading" hidden>
  <h2 id="stages-heading">Stages</h2>
  <table>
    <thead><tr><th scope="col">Stage</th><th scope="col">Started</th><th scope="col">Took</th></tr></thead>
    <tbody id="stages-body"></tbody>
  </table>
</section>
<section id="events-section" aria-labelledby="events-heading" hidden>
  <h2 id="events-heading">Events</h2>
  <table>
    <thead><tr><th scope="col">When</th><th scope="col">Type</th><th scope="col">Reason</th><th scope="col">Message</th></tr></thead>
    <tbody id="events-body"></tbody>
  </table>
</section>
<section id="snippet-section" aria-labelledby="snippet-heading" hidden>
  <h2 id="snippet-heading">Last lines of the log</h2>
  <pre id="snippet" class="log"></pre>
</section>
<section aria-labelledby="log-heading">
  <h2 id="log-heading">Log</h2>
  <p id="log-state" class="connection">Waiting for the build…</p>
  <pre id="log" class="log" role="log" aria-live="polite" aria-labelledby="log-heading" tabindex="0"></pre>
</section>`,

  agents: `<h1>Agents</h1>
<p id="connection" class="connection" role="status">Loading…</p>
<table class="agents">
  <caption><span id="agent-count">No agents</span>, as their last heartbeats said</caption>
  <thead>
    <tr>
      <th scope="col">Agent</th>
      <th scope="col">Node</th>
      <th scope="col">State</th>
      <th scope="col">Running / capacity</th>
      <th scope="col">Running builds</th>
      <th scope="col" title="What the agent's Docker daemon holds (system df: images, containers, build cache, volumes) at its last image GC round">Daemon holds</th>
      <th scope="col">Reclaimed by GC</th>
      <th scope="col">Node cache</th>
      <th scope="col">Last heartbeat</th>
    </tr>
  </thead>
  <tbody id="agents-body"></tbody>
</table>
<p id="no-agents">No agent has sent a heartbeat yet.</p>`,
};
