// Permission policy editor and simulator: progressive enhancement only (every page works without it).
// - Format / Check JSON buttons, and a check before the form is sent (the server validates the policy anyway);
// - "Insert example" puts an example document into the editor;
// - the simulator's resource field shows, as its placeholder, the default resource of the chosen action.
(function () {
  "use strict";

  function problem(editor, message) {
    var box = document.getElementById("document-client-error");
    if (!box) { return; }
    box.textContent = message || "";
    box.hidden = !message;
    if (message) { editor.setAttribute("aria-invalid", "true"); } else { editor.removeAttribute("aria-invalid"); }
  }

  function parse(editor) {
    try {
      var value = JSON.parse(editor.value);
      problem(editor, "");
      return value;
    } catch (error) {
      problem(editor, "document: not valid JSON (" + error.message + ").");
      return undefined;
    }
  }

  function setUpEditor(editor) {
    var form = editor.closest("form");
    document.querySelectorAll("[data-editor-tools], [data-insert-example]").forEach(function (el) { el.hidden = false; });
    var format = document.querySelector("[data-editor-format]");
    if (format) {
      format.addEventListener("click", function () {
        var value = parse(editor);
        if (value !== undefined) { editor.value = JSON.stringify(value, null, 2); }
      });
    }
    var check = document.querySelector("[data-editor-check]");
    if (check) {
      check.addEventListener("click", function () {
        if (parse(editor) !== undefined) { problem(editor, ""); check.textContent = "JSON is valid"; }
        setTimeout(function () { check.textContent = "Check JSON"; }, 1500);
      });
    }
    document.querySelectorAll("[data-insert-example]").forEach(function (button) {
      button.addEventListener("click", function () {
        var source = document.querySelector(button.getAttribute("data-insert-example"));
        if (!source) { return; }
        editor.value = source.textContent.trim();
        problem(editor, "");
        editor.focus();
      });
    });
    if (form) {
      form.addEventListener("submit", function (event) {
        if (parse(editor) === undefined) { event.preventDefault(); editor.focus(); }
      });
    }
  }

  function setUpSimulator(select) {
    var resource = document.querySelector("[data-simulator-resource]");
    var user = document.getElementById("user");
    if (!resource) { return; }
    function refresh() {
      var option = select.options[select.selectedIndex];
      var pattern = option ? option.getAttribute("data-resource") || "" : "";
      var kind = option ? option.getAttribute("data-kind") : "";
      var id = kind === "user" && user && user.value.trim() ? "<the user's id>" : "*";
      resource.placeholder = pattern.split("{id}").join(id);  // a published service has two ids
    }
    select.addEventListener("change", refresh);
    if (user) { user.addEventListener("input", refresh); }
    refresh();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var editor = document.querySelector("textarea[data-policy-editor]");
    if (editor) { setUpEditor(editor); }
    var action = document.querySelector("select[data-simulator-action]");
    if (action) { setUpSimulator(action); }
  });
})();
