/// `/audit/verify`: what `mcp-linux-infra audit verify` finds (the chain, every digest, every signed
/// approval, the first broken row named) and, on request, the hosts' ledgers reconciled (`--hosts`).
enum VerifyPage {
    /// The template.
    static let template = #"""
    {{<layout}}
    {{$title}}Audit verification{{/title}}
    {{$content}}
    <h1>Audit verification</h1>
    <section class="panel">
      <p id="verdict" class="verdict {{verdictClass}}">{{verdict}}</p>
      <dl class="facts">
        <dt>Rows</dt><dd>{{rows}}</dd>
        <dt>Head</dt><dd><code>{{head}}</code> <span class="muted">(save it somewhere the server cannot write; give it later to audit verify --anchor)</span></dd>
        <dt>Signed approvals verified</dt><dd>{{statements}}</dd>
        {{#hostsChecked}}<dt>Ledger entries checked</dt><dd>{{ledgerEntries}} on {{hostCount}} host(s)</dd>{{/hostsChecked}}
      </dl>
      {{#hasProblems}}
      <h2>Problems</h2>
      <ol class="problems">{{#problems}}<li>{{.}}</li>{{/problems}}</ol>
      {{/hasProblems}}
    </section>
    {{#canCheckHosts}}
    <section class="panel">
      <h2>Reconcile the hosts' ledgers</h2>
      <p>Reads every host's ledger (what its root side ran) through the reader account and checks each entry against the store and the chain.</p>
      <form method="post" action="/audit/verify/hosts" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <button type="submit" class="primary">Check the hosts now</button>
      </form>
    </section>
    {{/canCheckHosts}}
    <p><a href="/audit">Back to the audit log</a></p>
    {{/content}}
    {{/layout}}

    """#
}
