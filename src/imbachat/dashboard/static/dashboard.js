/* imbachat dashboard: small progressive touches. Every page works without this file;
   it adds confirmations, the copy button and the settings' live preview. Handlers are
   delegated from the document, so pages swapped in by htmx need no set-up. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  document.addEventListener("submit", function (event) {
    var button = event.submitter || event.target.querySelector("[data-confirm]");
    var question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); event.stopPropagation(); }
  }, true);

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.textContent).then(function () {
        button.classList.add("copied");
        setTimeout(function () { button.classList.remove("copied"); }, 1500);
      });
    }
  });

  function field(form, name) {
    var input = form && form.querySelector("[name='" + name + "']");
    return input ? input.value : "";
  }

  /* The preview and the snippet follow the settings as they are typed. */
  function refreshPreview() {
    var preview = document.getElementById("preview");
    if (!preview) { return; }
    var settings = document.getElementById("settings-form");
    var options = document.getElementById("snippet-form");
    var accent = field(settings, "accent_color");
    if (/^#[0-9a-fA-F]{6}$/.test(accent)) {
      preview.style.setProperty("--accent", accent);
      var picker = settings.querySelector("[data-preview='accent-picker']");
      if (picker && picker.value.toLowerCase() !== accent.toLowerCase()) { picker.value = accent.toLowerCase(); }
    }
    var theme = field(settings, "theme") || "auto";
    preview.className = preview.className.replace(/\btheme-\w+/, "theme-" + theme);
    var position = field(options, "position") || "right";
    preview.classList.toggle("left", position === "left");
    preview.classList.toggle("right", position !== "left");
    var title = field(options, "title");
    var head = preview.querySelector("[data-preview-title]");
    if (head) { head.textContent = title || head.getAttribute("data-default"); }
    var snippet = document.getElementById("snippet");
    if (snippet) {
      // The same text as the server writes (json.dumps' spacing), built key by key.
      var options_ = '{"token": ' + JSON.stringify("<JWT your server signs for the user>") +
        ', "lang": ' + JSON.stringify(field(options, "snippet_lang") || "en") +
        ', "position": ' + JSON.stringify(position) + (title ? ', "title": ' + JSON.stringify(title) : "") + "}";
      var server = snippet.getAttribute("data-server");
      snippet.textContent = '<script src="' + server + "/imbachat/v1/" + snippet.getAttribute("data-imba-id") + '/widget"></' + "script>\n" +
        "<script>\n  (function init() {\n    if (!window.ImbaChat) { return setTimeout(init, 50); }\n" +
        "    window.ImbaChat.load(" + options_.replace(/<\//g, "<\\/") + ");\n  })();\n</" + "script>";
    }
  }

  document.addEventListener("input", function (event) {
    var target = event.target;
    if (!target.hasAttribute || !target.hasAttribute("data-preview")) { return; }
    if (target.getAttribute("data-preview") === "accent-picker") {
      var text = target.form && target.form.querySelector("[name='accent_color']");
      if (text) { text.value = target.value; }
    }
    refreshPreview();
  });
  document.addEventListener("change", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-preview")) { refreshPreview(); }
  });
})();
