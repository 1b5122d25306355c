/// The frame of every console page: the head (the console's own stylesheet and script, nothing inline), the
/// navigation and logout form of a logged-in approver, the notice or error of the last step, and the page's
/// `content` block. Pages extend it with `{{<layout}}…{{/layout}}`.
enum LayoutPage {
    /// The template.
    static let template = #"""
    <!DOCTYPE html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{{$title}}Review console{{/title}} · mcp-linux-infra</title>
    <link rel="stylesheet" href="/static/console.css">
    <script src="/static/console.js" defer></script>
    </head>
    <body>
    <header class="top">
      <a class="brand" href="/">mcp-linux-infra <span>review console</span></a>
      {{#session}}
      <nav>
        <a href="/"{{#navQueue}} class="active"{{/navQueue}}>Queue</a>
        <a href="/audit"{{#navAudit}} class="active"{{/navAudit}}>Audit</a>
        <a href="/fleet"{{#navFleet}} class="active"{{/navFleet}}>Fleet</a>
      </nav>
      <form class="logout" method="post" action="/logout">
        <span class="who" title="key {{fingerprint}}">{{principal}}</span>
        <input type="hidden" name="csrf" value="{{csrf}}">
        <button type="submit">Log out</button>
      </form>
      {{/session}}
    </header>
    <main>
    {{#notice}}<p class="banner ok" role="status" id="notice">{{notice}}</p>{{/notice}}
    {{#error}}<p class="banner error" role="alert" id="error">{{error}}</p>{{/error}}
    {{$content}}{{/content}}
    </main>
    <footer>Approvals count only by their SSH signature, verified here and again as root on the host.</footer>
    </body>
    </html>

    """#
}
