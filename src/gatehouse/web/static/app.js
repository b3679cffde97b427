// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  function copy(button) {
    var target = document.querySelector(button.getAttribute("data-copy"));
    if (!target || !navigator.clipboard) { return; }
    var text = target.value !== undefined && target.tagName === "INPUT" ? target.value : target.textContent.trim();
    navigator.clipboard.writeText(text).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (button) { event.preventDefault(); copy(button); }
    var closer = event.target.closest("[data-close-dialog]");
    if (closer) { var dialog = closer.closest("dialog"); if (dialog) { dialog.close(); } }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-copy]").forEach(function (b) { b.hidden = false; });
    document.querySelectorAll("dialog[data-open]").forEach(function (d) {
      if (typeof d.showModal === "function") { d.showModal(); }
    });
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
  });
})();

// Organization → Settings: a switch saves as soon as it changes (its Save button is for no-JS use);
// a new token shown in its dialog is not repeated in the page behind it.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
      form.querySelectorAll("[data-autosubmit-button]").forEach(function (b) { b.hidden = true; });
      form.addEventListener("change", function () {
        if (typeof form.requestSubmit === "function") { form.requestSubmit(); } else { form.submit(); }
      });
    });
    if (document.querySelector("dialog[data-open][open]")) {
      document.querySelectorAll("[data-secret-fallback]").forEach(function (block) { block.hidden = true; });
    }
  });
})();
