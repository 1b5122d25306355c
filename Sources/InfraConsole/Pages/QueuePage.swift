/// `/`: the actions waiting for a human (PROPOSED) or for their run (APPROVED), newest first, with what an
/// approver needs to pick one: host, action, impact, approvals so far of those required, time left, and the
/// AI's rationale, marked as the AI's.
enum QueuePage {
    /// The template.
    static let template = #"""
    {{<layout}}
    {{$title}}Queue{{/title}}
    {{$content}}
    <h1>Pending actions</h1>
    {{^actions}}<p class="empty">No action is waiting. Proposals the AI makes appear here.</p>{{/actions}}
    {{#hasActions}}
    <table class="grid queue">
      <thead><tr><th>Action</th><th>Host</th><th>Impact</th><th>State</th><th>Approvals</th><th>Time left</th><th>Rationale</th></tr></thead>
      <tbody>
      {{#actions}}
      <tr>
        <td><a href="/actions/{{id}}"><strong>{{action}}</strong></a><br><code class="muted">{{shortID}}</code></td>
        <td>{{host}}</td>
        <td><span class="impact {{impactClass}}">{{impact}}</span></td>
        <td><span class="state {{stateClass}}">{{state}}</span></td>
        <td class="num">{{approvals}} of {{required}}</td>
        <td class="num">{{timeLeft}}</td>
        <td class="ai-cell"><span class="ai-tag" title="Written by the AI; not checked by anyone">AI</span> <span class="ai-text">{{rationale}}</span></td>
      </tr>
      {{/actions}}
      </tbody>
    </table>
    {{/hasActions}}
    {{/content}}
    {{/layout}}

    """#
}
