// The console's small progressive enhancement (served locally; pages work without it).
//  - form[data-confirm]: ask before submitting (approve, reject, revoke).
//  - form[data-live="#id"]: a GET search form that refreshes only the element #id as the user
//    types (htmx-like: fetch the page, swap that element, keep the URL in the address bar).
//  - select[data-autosubmit]: submit its form on change.
"use strict";
(function () {
  function confirmForms() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
  }

  function liveForms() {
    document.querySelectorAll("form[data-live]").forEach(function (form) {
      var target = form.getAttribute("data-live");
      var timer = null;
      var seq = 0;
      function refresh() {
        var params = new URLSearchParams(new FormData(form));
        var url = (form.getAttribute("action") || window.location.pathname) + "?" + params;
        var mine = ++seq;
        fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
          .then(function (reply) { return reply.ok ? reply.text() : null; })
          .then(function (html) {
            if (html === null || mine !== seq) { return; }
            var fresh = new DOMParser().parseFromString(html, "text/html").querySelector(target);
            var old = document.querySelector(target);
            if (fresh && old) {
              old.replaceWith(fresh);
              window.history.replaceState(null, "", url);
            }
          })
          .catch(function () { /* the submit button still works */ });
      }
      form.addEventListener("input", function () {
        window.clearTimeout(timer);
        timer = window.setTimeout(refresh, 250);
      });
    });
  }

  function autoSubmit() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    confirmForms();
    liveForms();
    autoSubmit();
  });
})();
