/**
 * The dashboard's one stylesheet (/ui/assets/dashboard.css). Phases and states carry a symbol
 * and a word; colour only adds to them. Focus is always visible.
 */
export const DASHBOARD_CSS = `
:root {
  color-scheme: light dark;
  --fg: #1d232b; --bg: #ffffff; --muted: #5b6673; --line: #d5dbe1; --head: #f3f5f7;
  --link: #0b5cad; --focus: #c25e00;
  --ok: #1a7f37; --bad: #b42318; --run: #0b5cad; --wait: #6b5b00;
  --log-bg: #11161c; --log-fg: #e6edf3;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  font-size: 15px; line-height: 1.45;
}
@media (prefers-color-scheme: dark) {
  :root {
    --fg: #e6edf3; --bg: #0f1419; --muted: #9aa7b4; --line: #2f3a45; --head: #18202a;
    --link: #6cb6ff; --focus: #ffb454; --ok: #4ac26b; --bad: #ff7b72; --run: #6cb6ff; --wait: #e3b341;
  }
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; color: var(--fg); background: var(--bg); }
a { color: var(--link); }
a:focus-visible, button:focus-visible, input:focus-visible, pre:focus-visible, main:focus-visible {
  outline: 3px solid var(--focus); outline-offset: 2px;
}
.skip-link { position: absolute; left: -10000px; }
.skip-link:focus { left: 1rem; top: 0.5rem; background: var(--bg); padding: 0.25rem 0.5rem; z-index: 1; }
.visually-hidden {
  position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; border: 0;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap;
}
.top {
  display: flex; flex-wrap: wrap; gap: 0.5rem 1.5rem; align-items: center;
  padding: 0.6rem 1.25rem; border-bottom: 1px solid var(--line); background: var(--head);
}
.brand { font-weight: 700; font-size: 1.1rem; text-decoration: none; color: var(--fg); }
.top nav ul { display: flex; gap: 1rem; list-style: none; margin: 0; padding: 0; }
.top nav a[aria-current="page"] { font-weight: 700; text-decoration-thickness: 2px; }
.token-form { display: flex; flex-wrap: wrap; gap: 0.4rem; align-items: center; margin-left: auto; }
.token-form p { margin: 0; flex-basis: 100%; }
.token-form .hint { color: var(--muted); font-size: 0.85rem; }
main { padding: 1rem 1.25rem 2rem; max-width: 90rem; }
h1 { font-size: 1.5rem; margin: 0.25rem 0 0.75rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 0.5rem; }
input, button { font: inherit; padding: 0.2rem 0.5rem; }
.namespace-form { display: flex; gap: 0.4rem; align-items: center; margin-bottom: 0.5rem; }
.connection { color: var(--muted); margin: 0.25rem 0 0.75rem; }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; color: var(--muted); padding-bottom: 0.25rem; }
th, td { text-align: left; vertical-align: top; padding: 0.35rem 0.6rem; border-bottom: 1px solid var(--line); }
thead th { background: var(--head); font-weight: 600; }
tbody th { font-weight: 600; }
td.num { font-variant-numeric: tabular-nums; }
td ul { margin: 0; padding-left: 1.1rem; }
.phase { font-weight: 600; white-space: nowrap; }
.phase .reason { font-weight: 400; color: var(--muted); }
.phase[data-phase="Complete"] { color: var(--ok); }
.phase[data-phase="Failed"], .phase[data-phase="Error"] { color: var(--bad); }
.phase[data-phase="Running"] { color: var(--run); }
.phase[data-phase="New"], .phase[data-phase="Pending"] { color: var(--wait); }
.phase[data-phase="Cancelled"] { color: var(--muted); }
[data-state="silent"] { color: var(--bad); font-weight: 600; }
[data-state="cordoned"] { color: var(--wait); font-weight: 600; }
.cause-type { font-weight: 600; margin-right: 0.4rem; }
.cause-message { color: var(--muted); }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; margin: 0; }
.facts dt { font-weight: 600; }
.facts dd { margin: 0; overflow-wrap: anywhere; }
.phase-line { font-size: 1.1rem; }
.log {
  background: var(--log-bg); color: var(--log-fg); padding: 0.75rem; margin: 0;
  font: 0.85rem/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
  white-space: pre-wrap; overflow-wrap: anywhere; max-height: 32rem; overflow: auto;
  border-radius: 4px;
}
#log:empty::before { content: "(no lines yet)"; color: #9aa7b4; }
`;
