/// `/audit`: the audit log searched by host, action, actor, kind, outcome, action id and time, newest first,
/// a page at a time, with the same search as JSON lines (`/audit/export`) and the chain's verification.
enum AuditPage {
    /// The template.
    static let template = #"""
    {{<layout}}
    {{$title}}Audit{{/title}}
    {{$content}}
    <h1>Audit log</h1>
    <form method="get" action="/audit" class="filters">
      <label>Host <input name="host" value="{{host}}" list="hosts" autocomplete="off"></label>
      <label>Action <input name="action" value="{{action}}" autocomplete="off"></label>
      <label>Actor <input name="actor" value="{{actor}}" placeholder="key:alice@… os:… mcp:… console:…" autocomplete="off"></label>
      <label>Kind <input name="kind" value="{{kind}}" placeholder="tool ssh state approval console" autocomplete="off"></label>
      <label>Outcome <input name="outcome" value="{{outcome}}" placeholder="ok error APPROVED…" autocomplete="off"></label>
      <label>Action id <input name="proposal" value="{{proposal}}" autocomplete="off"></label>
      <label>Since <input name="since" value="{{since}}" placeholder="2026-11-21 or ISO 8601" autocomplete="off"></label>
      <label>Until <input name="until" value="{{until}}" placeholder="2026-11-21 or ISO 8601" autocomplete="off"></label>
      <datalist id="hosts">{{#hosts}}<option value="{{.}}">{{/hosts}}</datalist>
      <div class="buttons">
        <button type="submit" class="primary">Search</button>
        <a class="button" href="/audit">Clear</a>
        <a class="button" href="/audit/export{{exportQuery}}" id="export">Export as JSON lines</a>
        <a class="button" href="/audit/verify">Verify the chain</a>
      </div>
    </form>
    {{#chainIntact}}<p class="chain ok" id="chain">Chain: {{chainIntact}} (checked incrementally now; <a href="/audit/verify">the full verification</a> also checks digests and signatures).</p>{{/chainIntact}}
    {{#chainBroken}}<p class="chain broken" id="chain"><strong>Chain BROKEN</strong> at {{chainBroken}}. Run <code>mcp-linux-infra audit verify</code>.</p>{{/chainBroken}}
    {{^rows}}<p class="empty">No row matches.</p>{{/rows}}
    {{#hasRows}}
    <table class="grid audit">
      <thead><tr><th>#</th><th>When (UTC)</th><th>Actor</th><th>Kind</th><th>Host</th><th>Action</th><th>Action id</th><th>Outcome</th><th>Detail</th></tr></thead>
      <tbody>
      {{#rows}}
      <tr><td class="num">{{seq}}</td><td class="num">{{at}}</td><td>{{actor}}</td><td>{{kind}}</td><td>{{host}}</td><td>{{action}}</td>
          <td>{{#proposal}}<a href="/actions/{{proposal}}"><code>{{shortProposal}}</code></a>{{/proposal}}</td>
          <td><span class="outcome">{{outcome}}</span></td><td class="detail"><code>{{detail}}</code></td></tr>
      {{/rows}}
      </tbody>
    </table>
    <p class="pager">{{#newerQuery}}<a href="/audit{{newerQuery}}">Newest</a>{{/newerQuery}} {{#olderQuery}}<a href="/audit{{olderQuery}}" id="older">Older rows</a>{{/olderQuery}}</p>
    {{/hasRows}}
    {{/content}}
    {{/layout}}

    """#
}
