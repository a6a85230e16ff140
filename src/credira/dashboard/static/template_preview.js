// The email template editor's live preview of the HTML part: a moment after each change, the
// editor's text is posted to the preview frame (a sandboxed document of its own, so the
// email's inline styles apply there and nothing in it runs). The subject and the plain-text
// part are previewed by htmx beside it.
(function () {
  "use strict";
  function start() {
    var editor = document.getElementById("template-editor");
    var form = document.getElementById("email-preview-form");
    if (!editor || !form) {
      return;
    }
    var timer = null;
    function send() {
      ["subject", "html_content", "text_content"].forEach(function (name) {
        form.elements[name].value = editor.elements[name].value;
      });
      form.submit();
    }
    editor.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(send, 400);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
