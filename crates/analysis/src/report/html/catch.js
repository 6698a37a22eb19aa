// Runs first: records every error of the page (script errors, failed loads, policy
// violations, console.error) in data-report-errors on <html>, so that a headless browser's
// DOM dump shows them, and lists them at the top of the page for a reader.
(function () {
  "use strict";
  var errors = [];
  function show() { // the box exists once the body is parsed
    var box = document.getElementById("report-errors");
    if (box && errors.length) { box.hidden = false; box.textContent = "Page errors:\n" + errors.join("\n"); }
  }
  function record(msg) {
    errors.push(String(msg));
    document.documentElement.setAttribute("data-report-errors", errors.join("\n"));
    show();
  }
  window.addEventListener("error", function (e) {
    var t = e.target;
    if (t && t !== window && t.tagName) {
      record("failed to load <" + t.tagName.toLowerCase() + "> " + (t.src || t.href || ""));
    } else {
      record("error: " + e.message + " (" + e.filename + ":" + e.lineno + ")");
    }
  }, true);
  window.addEventListener("unhandledrejection", function (e) {
    record("unhandled rejection: " + e.reason);
  });
  document.addEventListener("securitypolicyviolation", function (e) {
    record("blocked by the page's policy: " + e.blockedURI + " (" + e.violatedDirective + ")");
  });
  var original = console.error;
  console.error = function () {
    record("console.error: " + Array.prototype.join.call(arguments, " "));
    return original.apply(console, arguments);
  };
  document.addEventListener("DOMContentLoaded", show);
})();
