/// `/login`: the challenge to sign with an approver's SSH key, the one line that signs it, and the form that
/// takes the signature. No password field exists.
enum LoginPage {
    /// The template.
    static let template = #"""
    {{<layout}}
    {{$title}}Log in{{/title}}
    {{$content}}
    <section class="panel narrow">
      <h1>Log in with your approver key</h1>
      {{#loggedInAs}}<p class="hint">You are logged in as <strong>{{loggedInAs}}</strong>. <a href="/">Go to the queue</a>.</p>{{/loggedInAs}}
      <p>Sign this challenge with the SSH key listed for you in the inventory's <code>mcp_approvers</code>.
         It is single-use and expires at <strong>{{expires}}</strong>.</p>
      <h2>1. Save the challenge</h2>
      <div class="copyable">
        <pre id="challenge" class="exact">{{challenge}}</pre>
        <button type="button" class="copy" data-copy="challenge">Copy</button>
      </div>
      <p class="hint">Exactly, in a shell:</p>
      <div class="copyable">
        <pre id="save-challenge" class="command">{{saveCommand}}</pre>
        <button type="button" class="copy" data-copy="save-challenge">Copy</button>
      </div>
      <h2>2. Sign it</h2>
      <div class="copyable">
        <pre id="sign-challenge" class="command">{{signCommand}}</pre>
        <button type="button" class="copy" data-copy="sign-challenge">Copy</button>
      </div>
      <p class="hint">The namespace <code>{{namespace}}</code> is for logging in only: such a signature can never approve an action.
         A key held in ssh-agent works with <code>-f KEY.pub</code>.</p>
      <h2>3. Paste the signature</h2>
      <form method="post" action="/login" class="stack">
        <input type="hidden" name="nonce" value="{{nonce}}">
        <label for="signature">Contents of <code>challenge.txt.sig</code></label>
        <textarea id="signature" name="signature" rows="7" required spellcheck="false" autocomplete="off"
                  placeholder="-----BEGIN SSH SIGNATURE-----"></textarea>
        <label for="principal">Principal <span class="hint">(only if your key is listed under several names)</span></label>
        <input id="principal" name="principal" type="text" autocomplete="off" spellcheck="false">
        <button type="submit" class="primary">Log in</button>
      </form>
    </section>
    {{/content}}
    {{/layout}}

    """#
}
