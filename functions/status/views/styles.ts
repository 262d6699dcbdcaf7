/**
 * The dashboard's stylesheet, inlined (no external assets, so a strict CSP
 * works). Colours meet WCAG AA (most pairs AAA) in both light and dark
 * schemes; below 40rem the cards stack and history rows become blocks.
 * Cells wrap anywhere (break-word would not lower a table's minimum width),
 * so long identities and image references never scroll the page sideways.
 */
export const STYLES = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1b1b;--muted:#4a4a4a;--card:#f6f7f9;--border:#c2c8d0;
--link:#0b57d0;--held-bg:#8a3b00;--held-fg:#fff;--bad-bg:#a50e0e;--bad-fg:#fff}
@media (prefers-color-scheme:dark){:root{--bg:#111418;--fg:#eceff3;--muted:#b8bfc8;--card:#1b2027;
--border:#3a424d;--link:#8ab4f8;--held-bg:#ffb86b;--held-fg:#1b1b1b;--bad-bg:#ff8a80;--bad-fg:#1b1b1b}}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}
.top,main{max-width:76rem;margin:0 auto;padding:1rem}
.top{padding-bottom:0}
h1{margin:0;font-size:1.5rem}
.meta{margin:.25rem 0 .75rem;color:var(--muted)}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em}
a{color:var(--link)}
:focus-visible{outline:3px solid var(--link);outline-offset:2px}
.envs{list-style:none;padding:0;margin:0;display:grid;gap:1rem;
grid-template-columns:repeat(auto-fit,minmax(min(100%,28rem),1fr))}
.env{background:var(--card);border:1px solid var(--border);border-radius:.5rem;padding:1rem;height:100%}
.env>header{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem}
.env h2{margin:0;font-size:1.25rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .75rem;margin:.75rem 0}
dt{color:var(--muted);font-weight:600}
dd{margin:0;min-width:0;overflow-wrap:anywhere}
.badge{display:inline-block;padding:0 .6rem;border-radius:999px;font-size:.85rem;font-weight:700}
.badge.held{background:var(--held-bg);color:var(--held-fg)}
.badge.bad{background:var(--bad-bg);color:var(--bad-fg)}
.badge.open{border:1px solid var(--border);color:var(--muted);font-weight:600}
.who[title]{text-decoration:underline dotted;cursor:help}
.problem{border-left:4px solid var(--bad-bg);padding:.25rem .75rem;margin:.75rem 0}
.hold{border-left:4px solid var(--held-bg);padding:.25rem .75rem;margin:.75rem 0}
.promoted{display:block;font-size:.85rem}
table{width:100%;border-collapse:collapse;font-size:.9rem}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{text-align:left;padding:.25rem .75rem .25rem 0;border-top:1px solid var(--border);vertical-align:top;
overflow-wrap:anywhere}
th{color:var(--muted);white-space:nowrap}
.history code{overflow-wrap:anywhere}
.changes{list-style:none;margin:0;padding:0}.changes .key{color:var(--muted)}
.history td:first-child{white-space:nowrap}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
@media (max-width:40rem){
.top,main{padding:.75rem}
dl{grid-template-columns:1fr}dt{margin-top:.35rem}
.history thead{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%)}
.history tr{display:block;padding:.35rem 0;border-top:1px solid var(--border)}
.history td{display:block;border:0;padding:0;white-space:normal}
.history td::before{content:attr(data-label) ": ";font-weight:600;color:var(--muted)}
}
`
