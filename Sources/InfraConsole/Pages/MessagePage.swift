/// A page that only says something: why a request was refused (no session, a bad form, a missing action) and
/// what to do, with a link onwards.
enum MessagePage {
    /// The template.
    static let template = #"""
    {{<layout}}
    {{$title}}{{heading}}{{/title}}
    {{$content}}
    <section class="panel">
      <h1>{{heading}}</h1>
      <p>{{message}}</p>
      <p><a href="{{link}}">{{linkText}}</a></p>
    </section>
    {{/content}}
    {{/layout}}

    """#
}
