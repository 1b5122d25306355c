/// `/actions/{id}`: one action as `mcp-linux-infra actions show` prints it (what will run from the catalogue,
/// the host and its pinned key, the recomputed digest, the AI's rationale marked), the exact statement the
/// logged-in approver signs with its one-line `ssh-keygen -Y sign`, the forms to approve with a pasted
/// signature or to reject, the decisions, the execution and the history.
enum ActionPage {
    /// The template.
    static let template = #"""
    {{<layout}}
    {{$title}}{{action}} on {{host}}{{/title}}
    {{$content}}
    <h1>{{action}} <span class="on">on</span> {{host}} <span id="state" class="state {{stateClass}}">{{state}}</span></h1>
    {{#problem}}<p class="banner error" id="problem"><strong>DO NOT APPROVE:</strong> {{problem}}</p>{{/problem}}
    <section class="panel">
      <h2>What will run</h2>
      <dl class="facts">
        <dt>Action id</dt><dd><code>{{id}}</code></dd>
        <dt>Impact</dt><dd><span class="impact {{impactClass}}">{{impact}}</span>{{#fromCatalogue}} <span class="muted">(from the catalogue)</span>{{/fromCatalogue}}</dd>
        <dt>Host</dt><dd>{{host}}</dd>
        <dt>Host key (pinned)</dt><dd>{{#hostKeys}}<code>{{.}}</code> {{/hostKeys}}{{^hostKeys}}<span class="bad">none pinned in known_hosts</span>{{/hostKeys}}</dd>
        <dt>Parameters</dt><dd>{{#parameters}}<code>{{name}}={{value}}</code> {{/parameters}}{{^parameters}}none{{/parameters}}</dd>
        {{#fromCatalogue}}
        <dt>Will run</dt><dd><code class="command">{{command}}</code><br><span class="muted">as {{runsAs}}</span></dd>
        <dt>Verification</dt><dd>{{#verification}}<code class="command">{{verification}}</code>{{/verification}}{{^verification}}none{{/verification}}</dd>
        {{/fromCatalogue}}
        {{^fromCatalogue}}<dt>Will run</dt><dd class="bad">not in the reviewer's catalogue: what would run cannot be shown</dd>{{/fromCatalogue}}
        <dt>Digest</dt><dd><code id="digest">{{digest}}</code> <span class="muted">(recomputed from action, host, parameters and catalogue)</span></dd>
        <dt>Catalogue</dt><dd><code>{{catalogue}}</code></dd>
        <dt>Proposed by</dt><dd>{{proposer}} <span class="muted">(MCP caller: the server's OS account over stdio, a client token's name over HTTP; client {{client}})</span> at {{created}}</dd>
        <dt>Approvals</dt><dd><strong id="approvals">{{approvals}} of {{required}}</strong>{{#pending}} · pending until {{expires}} ({{timeLeft}}){{/pending}}{{#approvalValidUntil}} · may run once until {{approvalValidUntil}}{{/approvalValidUntil}}</dd>
      </dl>
      <div class="ai">
        <div class="ai-label">Rationale, written by the AI (not checked by anyone)</div>
        <pre class="ai-text" id="rationale">{{rationale}}</pre>
      </div>
    </section>
    {{#sign}}
    <section class="panel" id="sign">
      <h2>Approve: sign this statement as {{principal}}</h2>
      <p>Save the statement exactly (the copy button, or the line below), sign it with your approver key, and paste the signature.
         It is valid until {{notAfter}}.</p>
      <div class="copyable">
        <pre id="statement" class="exact">{{statement}}</pre>
        <button type="button" class="copy" data-copy="statement">Copy</button>
      </div>
      <p class="hint">Exactly, in a shell:</p>
      <div class="copyable">
        <pre id="save-statement" class="command">{{saveCommand}}</pre>
        <button type="button" class="copy" data-copy="save-statement">Copy</button>
      </div>
      <div class="copyable">
        <pre id="sign-statement" class="command">{{signCommand}}</pre>
        <button type="button" class="copy" data-copy="sign-statement">Copy</button>
      </div>
      <form method="post" action="/actions/{{id}}/approve" class="stack">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="statement" value="{{statementBase64}}">
        <input type="hidden" name="digest" value="{{digest}}">
        <label for="signature">Contents of <code>statement.txt.sig</code></label>
        <textarea id="signature" name="signature" rows="7" required spellcheck="false" autocomplete="off"
                  placeholder="-----BEGIN SSH SIGNATURE-----"></textarea>
        <label for="approve-reason">Reason{{#reasonRequired}} <strong>(required: HIGH impact)</strong>{{/reasonRequired}}</label>
        <input id="approve-reason" name="reason" type="text" maxlength="500"{{#reasonRequired}} required{{/reasonRequired}}>
        <button type="submit" class="primary" id="approve">Approve with this signature</button>
      </form>
    </section>
    {{/sign}}
    {{#cannotSign}}<section class="panel"><h2>Approve</h2><p class="muted" id="cannot-sign">{{cannotSign}}</p></section>{{/cannotSign}}
    {{#canReject}}
    <section class="panel">
      <h2>Reject</h2>
      <form method="post" action="/actions/{{id}}/reject" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="reject-reason">Reason (the AI reads it)</label>
        <input id="reject-reason" name="reason" type="text" minlength="3" maxlength="500" required>
        <button type="submit" class="danger">Reject</button>
      </form>
    </section>
    {{/canReject}}
    <section class="panel">
      <h2>Decisions</h2>
      {{^decisions}}<p class="muted">None yet.</p>{{/decisions}}
      <ul class="plain">
      {{#decisions}}<li><span class="verb {{verbClass}}">{{verb}}</span> by <strong>{{approver}}</strong> {{how}} at {{at}}{{#reason}}: {{reason}}{{/reason}}</li>{{/decisions}}
      </ul>
      {{#signedStatements}}
      <details><summary>Signed statement by {{approver}}</summary><pre class="exact">{{statement}}</pre></details>
      {{/signedStatements}}
    </section>
    {{#execution}}
    <section class="panel" id="execution">
      <h2>Execution</h2>
      <dl class="facts">
        <dt>Exit</dt><dd>{{exit}}</dd>
        <dt>Verified</dt><dd><span class="verified {{verifiedClass}}">{{verified}}</span></dd>
        <dt>Verification</dt><dd>{{#check}}<code class="command">{{check}}</code>{{/check}}{{^check}}none{{/check}}</dd>
        <dt>Started</dt><dd>{{started}}</dd>
        <dt>Finished</dt><dd>{{finished}}</dd>
        <dt>Run by</dt><dd>{{executor}}</dd>
      </dl>
      {{#stdout}}<details><summary>Output (stdout)</summary><pre class="output">{{stdout}}</pre></details>{{/stdout}}
      {{#stderr}}<details><summary>Errors (stderr)</summary><pre class="output">{{stderr}}</pre></details>{{/stderr}}
    </section>
    {{/execution}}
    <section class="panel">
      <h2>History</h2>
      <table class="grid">
        <thead><tr><th>When (UTC)</th><th>From</th><th>To</th><th>By</th><th>Why</th></tr></thead>
        <tbody>
        {{#history}}<tr><td class="num">{{at}}</td><td>{{from}}</td><td><span class="state {{toClass}}">{{to}}</span></td><td>{{actor}}</td><td>{{#isRationale}}<span class="muted">(the AI's rationale above)</span>{{/isRationale}}{{^isRationale}}{{reason}}{{/isRationale}}</td></tr>{{/history}}
        </tbody>
      </table>
      <p><a href="/audit?proposal={{id}}">Audit rows of this action</a></p>
    </section>
    {{/content}}
    {{/layout}}

    """#
}
