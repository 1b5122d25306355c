/// `/static/console.css`: the console's one stylesheet (the CSP allows styles from the console only).
enum ConsoleStylesheet {
    /// The stylesheet.
    static let text = #"""
    :root { --ink: #1d2430; --muted: #5d6b7e; --line: #d7dde5; --bg: #f5f7fa; --panel: #fff; --accent: #1f5fbf;
            --ok: #1b7f3b; --warn: #a15c00; --bad: #b3261e; --ai: #fff6db; --ai-line: #e0b43c; }
    * { box-sizing: border-box; }
    body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
    code, pre, textarea { font: 13px/1.4 ui-monospace, "DejaVu Sans Mono", Menlo, monospace; }
    a { color: var(--accent); }
    header.top { display: flex; align-items: center; gap: 1.5rem; padding: .6rem 1.5rem; background: #17202e; color: #fff; }
    header.top a { color: #dfe7f3; text-decoration: none; }
    header.top .brand { font-weight: 600; color: #fff; }
    header.top .brand span { font-weight: 400; color: #9fb0c8; }
    header.top nav { display: flex; gap: 1rem; flex: 1; }
    header.top nav a.active { color: #fff; border-bottom: 2px solid #7fb2ff; }
    header.top .logout { display: flex; gap: .6rem; align-items: center; }
    header.top .who { color: #c9d6ea; }
    main { max-width: 1200px; margin: 1.5rem auto; padding: 0 1.5rem; }
    footer { max-width: 1200px; margin: 2rem auto; padding: 0 1.5rem; color: var(--muted); font-size: 13px; }
    h1 { font-size: 1.5rem; margin: 0 0 1rem; }
    h1 .on { color: var(--muted); font-weight: 400; }
    h2 { font-size: 1.1rem; margin: 0 0 .7rem; }
    .panel { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 1rem 1.25rem; margin-bottom: 1rem; }
    .panel.narrow { max-width: 780px; }
    .banner { padding: .7rem 1rem; border-radius: 6px; border: 1px solid; margin: 0 0 1rem; }
    .banner.ok { background: #e8f5ec; border-color: #9fd3b0; color: var(--ok); }
    .banner.error { background: #fdecea; border-color: #f1a9a3; color: var(--bad); }
    .hint, .muted { color: var(--muted); }
    .bad { color: var(--bad); }
    .empty { color: var(--muted); font-style: italic; }
    table.grid { width: 100%; border-collapse: collapse; background: var(--panel); border: 1px solid var(--line); }
    table.grid th, table.grid td { text-align: left; vertical-align: top; padding: .45rem .6rem; border-bottom: 1px solid var(--line); }
    table.grid th { background: #eef2f7; font-weight: 600; font-size: 13px; }
    table.grid tr:hover td { background: #fafcff; }
    td.num { white-space: nowrap; font-variant-numeric: tabular-nums; }
    td.detail code { white-space: pre-wrap; word-break: break-all; font-size: 12px; }
    dl.facts { display: grid; grid-template-columns: 12rem 1fr; gap: .35rem 1rem; margin: 0 0 1rem; }
    dl.facts dt { color: var(--muted); }
    dl.facts dd { margin: 0; word-break: break-word; }
    code.command { background: #f0f3f7; padding: .1rem .3rem; border-radius: 3px; }
    .state, .impact, .verb, .verified, .reach { display: inline-block; padding: .05rem .45rem; border-radius: 999px; font-size: 12px; font-weight: 600; border: 1px solid var(--line); background: #eef2f7; }
    .state.proposed { background: #fff3d6; border-color: #f0cf7a; }
    .state.approved, .state.completed { background: #e3f4e8; border-color: #9fd3b0; color: var(--ok); }
    .state.rejected, .state.failed, .state.expired, .state.interrupted, .state.cancelled { background: #fbe7e5; border-color: #f1a9a3; color: var(--bad); }
    .state.executing { background: #e5efff; border-color: #a9c6f5; }
    h1 .state { font-size: 14px; vertical-align: middle; }
    .impact.low { color: var(--ok); } .impact.medium { color: var(--warn); } .impact.high { color: #fff; background: var(--bad); border-color: var(--bad); }
    .verb.approved, .verified.yes, .reach.yes { color: var(--ok); } .verb.rejected, .verified.no, .reach.no { color: var(--bad); }
    .ai { border: 1px solid var(--ai-line); border-left: 6px solid var(--ai-line); background: var(--ai); border-radius: 4px; padding: .5rem .8rem; }
    .ai-label { font-size: 12px; font-weight: 700; text-transform: uppercase; letter-spacing: .04em; color: #7a5a00; }
    .ai pre.ai-text { white-space: pre-wrap; margin: .4rem 0 0; font-family: inherit; font-size: 14px; }
    .ai-cell { max-width: 28rem; }
    .ai-tag { display: inline-block; font-size: 11px; font-weight: 700; padding: 0 .35rem; border-radius: 3px; background: var(--ai-line); color: #3b2c00; }
    .ai-cell .ai-text { background: var(--ai); }
    pre.exact, pre.command, pre.output { background: #0f1722; color: #e6edf6; padding: .7rem .9rem; border-radius: 5px; overflow-x: auto; margin: 0;
                                         white-space: pre-wrap; word-break: break-all; }
    .copyable pre { padding-right: 5.5rem; }
    pre.output { max-height: 24rem; }
    .copyable { position: relative; margin: .5rem 0; }
    .copyable .copy { position: absolute; top: .4rem; right: .4rem; }
    button, .button { font: inherit; font-size: 14px; padding: .35rem .8rem; border-radius: 5px; border: 1px solid #b8c2cf; background: #fff; color: var(--ink); cursor: pointer; text-decoration: none; display: inline-block; }
    button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
    button.danger { background: var(--bad); border-color: var(--bad); color: #fff; }
    button.copied { background: #e3f4e8; }
    form.stack { display: flex; flex-direction: column; gap: .4rem; max-width: 760px; margin-top: 1rem; }
    form.stack button { align-self: flex-start; margin-top: .4rem; }
    form.inline { display: flex; gap: .6rem; align-items: center; flex-wrap: wrap; margin-bottom: 1rem; }
    input[type=text], input:not([type]), textarea { font-size: 14px; padding: .35rem .5rem; border: 1px solid #b8c2cf; border-radius: 4px; background: #fff; }
    textarea { width: 100%; }
    form.inline input[type=text] { min-width: 24rem; }
    form.filters { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: .5rem 1rem; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1rem; margin-bottom: 1rem; }
    form.filters label { display: flex; flex-direction: column; font-size: 13px; color: var(--muted); }
    form.filters .buttons { grid-column: 1 / -1; display: flex; gap: .5rem; }
    .pager { display: flex; gap: 1rem; }
    .verdict { font-size: 1.15rem; font-weight: 700; }
    .verdict.ok { color: var(--ok); } .verdict.bad { color: var(--bad); }
    ol.problems li { color: var(--bad); margin-bottom: .3rem; word-break: break-word; }
    ul.plain { list-style: none; padding: 0; }
    ul.plain li { padding: .2rem 0; }
    details { margin: .4rem 0; }
    .offscreen { position: fixed; left: -9999px; top: 0; }

    """#
}
