/// `/fleet`: every inventory host with what the server last saw through the reader account (reachable,
/// latency, when) and its drift from this release, from the last probe an approver started here.
enum FleetPage {
    /// The template.
    static let template = #"""
    {{<layout}}
    {{$title}}Fleet{{/title}}
    {{$content}}
    <h1>Fleet</h1>
    {{#canProbe}}
    <form method="post" action="/fleet/probe" class="inline">
      <input type="hidden" name="csrf" value="{{csrf}}">
      <button type="submit" class="primary">Probe every host now</button>
      <span class="muted">{{probed}}</span>
    </form>
    {{/canProbe}}
    {{^canProbe}}<p class="muted">This console has no reader key: reachability and drift cannot be probed from here.</p>{{/canProbe}}
    <table class="grid fleet">
      <thead><tr><th>Host</th><th>Address</th><th>Groups</th><th>Approvers</th><th>Reachable</th><th>Latency</th><th>Last seen (UTC)</th><th>Drift</th></tr></thead>
      <tbody>
      {{#hosts}}
      <tr>
        <td><strong>{{name}}</strong><br>{{#hostKeys}}<code class="muted">{{.}}</code> {{/hostKeys}}</td>
        <td>{{address}}</td>
        <td>{{groups}}</td>
        <td>{{approvers}}</td>
        <td><span class="reach {{reachClass}}">{{reachable}}</span>{{#detail}}<br><span class="muted">{{detail}}</span>{{/detail}}</td>
        <td class="num">{{latency}}</td>
        <td class="num">{{lastSeen}}</td>
        <td>{{#drift}}<span class="bad">{{.}}</span><br>{{/drift}}{{^drift}}<span class="{{driftClass}}">{{driftNone}}</span>{{/drift}}</td>
      </tr>
      {{/hosts}}
      </tbody>
    </table>
    {{/content}}
    {{/layout}}

    """#
}
