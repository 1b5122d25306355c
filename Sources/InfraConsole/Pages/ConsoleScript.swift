/// `/static/console.js`: the console's one script (the CSP allows scripts from the console only, never inline):
/// copy buttons. A button `data-copy="ID"` copies the exact text of the element with that id.
enum ConsoleScript {
    /// The script.
    static let text = #"""
    "use strict";
    (function () {
      function fallbackCopy(text) {
        var area = document.createElement("textarea");
        area.value = text;
        area.setAttribute("readonly", "");
        area.className = "offscreen";
        document.body.appendChild(area);
        area.select();
        var done = false;
        try { done = document.execCommand("copy"); } catch (e) { done = false; }
        document.body.removeChild(area);
        return done ? Promise.resolve() : Promise.reject(new Error("copy refused"));
      }
      function copy(text) {
        if (navigator.clipboard && window.isSecureContext) {
          return navigator.clipboard.writeText(text).catch(function () { return fallbackCopy(text); });
        }
        return fallbackCopy(text);
      }
      function show(button, label) {
        var original = button.getAttribute("data-label") || button.textContent;
        button.setAttribute("data-label", original);
        button.textContent = label;
        button.classList.toggle("copied", label === "Copied");
        window.setTimeout(function () { button.textContent = original; button.classList.remove("copied"); }, 1500);
      }
      document.addEventListener("DOMContentLoaded", function () {
        var buttons = document.querySelectorAll("button[data-copy]");
        Array.prototype.forEach.call(buttons, function (button) {
          button.addEventListener("click", function () {
            var source = document.getElementById(button.getAttribute("data-copy"));
            if (!source) { return; }
            copy(source.textContent).then(function () { show(button, "Copied"); },
                                          function () { show(button, "Select and copy by hand"); });
          });
        });
      });
    })();

    """#
}
